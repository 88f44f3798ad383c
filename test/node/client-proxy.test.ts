// The client through real proxies started by the test: tinyproxy (HTTP
// CONNECT, Basic credentials) and microsocks (SOCKS5, username/password),
// for ws:// and wss:// (TLS to the target inside the tunnel, SNI and
// certificate checks intact), an https:// proxy (tinyproxy behind a TLS
// front), proxy: 'env', and every kind of failure with its ProxyError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { ProxyError } from '../../src/node/proxy/index.js';
import { closed, closeHttpServer, closeServer, errorThenClose, freePort, listen, nextMessage, opened, startServer } from './helpers.js';
import { startMicrosocks, startTinyproxy, type ProxyProcess } from '../support/proxies.js';
import { microsocksPath, opensslPath, skipReason, tinyproxyPath } from '../support/system.js';
import { createTestCertificate, type TestCertificate } from '../support/tls.js';

const T = { timeout: 30_000 };
const tinyproxy = { ...T, skip: skipReason(tinyproxyPath()) };
const microsocks = { ...T, skip: skipReason(microsocksPath()) };
const tinyproxyTls = { ...T, skip: skipReason(tinyproxyPath(), opensslPath()) };
const microsocksTls = { ...T, skip: skipReason(microsocksPath(), opensslPath()) };

/** A round trip through `client` to an echo server: proves the tunnel carries frames both ways. */
async function echoes(client: WebSocket, text: string): Promise<void> {
  await opened(client);
  client.send(text);
  const [data, isBinary] = await nextMessage(client);
  assert.equal(String(data), text);
  assert.equal(isBinary, false);
  const done = closed(client);
  client.close(1000);
  assert.equal((await done).code, 1000);
}

async function echoServer() {
  const started = await startServer();
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return started;
}

/** A wss:// echo server on 127.0.0.1 recording the SNI name of each TLS connection. */
async function secureEchoServer(cert: TestCertificate) {
  const https = createHttpsServer({ key: cert.key, cert: cert.cert });
  const names: Array<string | false | null> = [];
  https.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername));
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const port = await listen(https, '127.0.0.1');
  return {
    port,
    names,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await closeServer(wss);
      await closeHttpServer(https);
    },
  };
}

/** The CONNECT lines tinyproxy logged (one per tunnel it opened or refused). */
const connectsLogged = (proxy: ProxyProcess): string[] => proxy.output().split('\n').filter((l) => /Request \(file descriptor \d+\): CONNECT /.test(l));

async function proxyErrorOf(ws: WebSocket): Promise<ProxyError> {
  const { error, close } = await errorThenClose(ws);
  assert.equal(close.code, 1006);
  assert.ok(error instanceof ProxyError, `expected a ProxyError, got ${error.name}: ${error.message}`);
  return error;
}

test('ws:// through tinyproxy with Basic credentials', tinyproxy, async (t) => {
  const server = await echoServer();
  const proxy = await startTinyproxy({ user: 'alice', password: 's3cret' });
  t.after(() => Promise.all([proxy.close(), closeServer(server.wss)]));
  await echoes(new WebSocket(server.url, { proxy: proxy.url }), 'through tinyproxy');
  assert.deepEqual(connectsLogged(proxy).map((l) => l.replace(/.*CONNECT /, 'CONNECT ')), [`CONNECT 127.0.0.1:${server.port} HTTP/1.1`]);
});

test('wss:// through tinyproxy: TLS to the target inside the tunnel, SNI sent, certificate checked', tinyproxyTls, async (t) => {
  const cert = await createTestCertificate();
  const server = await secureEchoServer(cert);
  const proxy = await startTinyproxy();
  t.after(() => Promise.all([proxy.close(), server.close()]));
  // 'localhost' would also be tried as ::1 by the proxy; the certificate names 127.0.0.1 too.
  await echoes(new WebSocket(`wss://127.0.0.1:${server.port}/`, { proxy: proxy.url, ca: cert.ca }), 'tls in the tunnel');
  await echoes(new WebSocket(`wss://127.0.0.1:${server.port}/`, { proxy: proxy.url, ca: cert.ca, servername: 'localhost' }), 'with SNI');
  assert.deepEqual(server.names, [false, 'localhost']);
  // Without the CA the target's certificate is refused, as it would be without a proxy.
  const untrusted = await errorThenClose(new WebSocket(`wss://127.0.0.1:${server.port}/`, { proxy: proxy.url }));
  assert.equal((untrusted.error as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  // A name the certificate does not carry is refused too.
  const wrongName = await errorThenClose(new WebSocket(`wss://127.0.0.1:${server.port}/`, { proxy: proxy.url, ca: cert.ca, servername: 'other.test' }));
  assert.equal((wrongName.error as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(connectsLogged(proxy).length, 4);
});

test('tinyproxy: 407 without credentials and with wrong ones', tinyproxy, async (t) => {
  const server = await echoServer();
  const proxy = await startTinyproxy({ user: 'alice', password: 's3cret' });
  t.after(() => Promise.all([proxy.close(), closeServer(server.wss)]));
  const none = await proxyErrorOf(new WebSocket(server.url, { proxy: proxy.bareUrl }));
  assert.equal(none.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.equal(none.statusCode, 407);
  assert.equal(none.message, `Proxy ${proxy.bareUrl} requires authentication (407 Proxy Authentication Required): give user:pass in the proxy URL`);
  const wrong = await proxyErrorOf(new WebSocket(server.url, { proxy: proxy.url.replace('s3cret', 'guess') }));
  assert.equal(wrong.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.match(wrong.message, /the credentials were rejected$/);
  assert.equal(server.wss.clients.size, 0);
});

test('tinyproxy refuses: target unreachable (500) and port not allowed (403), with status and reason', tinyproxy, async (t) => {
  const server = await echoServer();
  const open = await startTinyproxy();
  const strict = await startTinyproxy({ connectPorts: [443] });
  t.after(() => Promise.all([open.close(), strict.close(), closeServer(server.wss)]));
  const port = await freePort();
  const unreachable = await proxyErrorOf(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: open.url }));
  assert.equal(unreachable.code, 'ERR_PROXY_REFUSED');
  assert.equal(unreachable.statusCode, 500);
  assert.equal(unreachable.message, `Proxy ${open.bareUrl} refused CONNECT to 127.0.0.1:${port}: 500 Unable to connect`);
  const forbidden = await proxyErrorOf(new WebSocket(server.url, { proxy: strict.url }));
  assert.equal(forbidden.code, 'ERR_PROXY_REFUSED');
  assert.equal(forbidden.message, `Proxy ${strict.bareUrl} refused CONNECT to 127.0.0.1:${server.port}: 403 Access violation`);
});

test('a proxy nobody listens on: ERR_PROXY_UNREACHABLE with the cause', T, async () => {
  const port = await freePort();
  const error = await proxyErrorOf(new WebSocket('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}` }));
  assert.equal(error.code, 'ERR_PROXY_UNREACHABLE');
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.match(error.message, new RegExp(`^Cannot reach proxy http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
});

test('ws:// and wss:// through microsocks with username/password', microsocksTls, async (t) => {
  const server = await echoServer();
  const cert = await createTestCertificate();
  const secure = await secureEchoServer(cert);
  const proxy = await startMicrosocks({ user: 'bob', password: 'pw' });
  t.after(() => Promise.all([proxy.close(), closeServer(server.wss), secure.close()]));
  await echoes(new WebSocket(server.url, { proxy: proxy.url }), 'through microsocks');
  await echoes(new WebSocket(`wss://127.0.0.1:${secure.port}/`, { proxy: proxy.url, ca: cert.ca, servername: 'localhost' }), 'tls through socks');
  assert.deepEqual(secure.names, ['localhost']);
});

test('microsocks: a host name is resolved by the proxy (localhost reaches the server)', microsocks, async (t) => {
  const server = await echoServer();
  const proxy = await startMicrosocks();
  t.after(() => Promise.all([proxy.close(), closeServer(server.wss)]));
  // The proxy may try ::1 first; our server is on 127.0.0.1, and microsocks tries each address.
  await echoes(new WebSocket(`ws://localhost:${server.port}/`, { proxy: proxy.url }), 'by name');
});

test('microsocks failures: no credentials, wrong password, target refused (reply 5)', microsocks, async (t) => {
  const proxy = await startMicrosocks({ user: 'bob', password: 'pw' });
  t.after(() => proxy.close());
  const port = await freePort();
  const none = await proxyErrorOf(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: proxy.bareUrl }));
  assert.equal(none.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.equal(none.message, `Proxy ${proxy.bareUrl} requires authentication: give user:pass in the proxy URL`);
  const wrong = await proxyErrorOf(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: proxy.url.replace(':pw@', ':nope@') }));
  assert.equal(wrong.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.match(wrong.message, /rejected the username\/password/);
  const refused = await proxyErrorOf(new WebSocket(`ws://127.0.0.1:${port}/`, { proxy: proxy.url }));
  assert.equal(refused.code, 'ERR_PROXY_SOCKS_FAILURE');
  assert.equal(refused.socksReply, 5);
  assert.equal(refused.message, `Proxy ${proxy.bareUrl} failed SOCKS5 CONNECT to 127.0.0.1:${port}: connection refused (reply 5)`);
});

test('an https:// proxy (tinyproxy behind TLS): TLS to the proxy, then TLS to the target inside', tinyproxyTls, async (t) => {
  const cert = await createTestCertificate();
  const proxyCert = await createTestCertificate({ altNames: ['proxy.test'] });
  const secure = await secureEchoServer(cert);
  const proxy = await startTinyproxy();
  // The TLS front: decrypts and pipes each connection to tinyproxy.
  const fronted: string[] = [];
  const front = createTlsServer({ key: proxyCert.key, cert: proxyCert.cert }, (socket) => {
    fronted.push(String(socket.servername));
    const back = netConnect({ port: proxy.port, host: '127.0.0.1' });
    socket.pipe(back).pipe(socket);
    back.on('error', () => socket.destroy());
    socket.on('error', () => back.destroy());
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  const frontPort = (front.address() as AddressInfo).port;
  t.after(async () => {
    await proxy.close();
    await secure.close();
    // Not awaited: Node 20 never calls back a TLS server's close() after a connection failed its handshake.
    front.close();
  });
  const options = { proxy: { url: `https://127.0.0.1:${frontPort}`, tls: { ca: proxyCert.ca, servername: 'proxy.test' } }, ca: cert.ca, servername: 'localhost' };
  await echoes(new WebSocket(`wss://127.0.0.1:${secure.port}/`, options), 'tls in tls');
  assert.deepEqual(fronted, ['proxy.test']);
  assert.deepEqual(secure.names, ['localhost']);
  // The proxy's own certificate is checked: without its CA the tunnel is never opened.
  const error = await proxyErrorOf(new WebSocket(`wss://127.0.0.1:${secure.port}/`, { ...options, proxy: `https://127.0.0.1:${frontPort}` }));
  assert.equal(error.code, 'ERR_PROXY_UNREACHABLE');
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test("proxy: 'env' reads HTTP_PROXY, and NO_PROXY sends matching hosts direct", tinyproxy, async (t) => {
  const server = await echoServer();
  const proxy = await startTinyproxy();
  const saved = { HTTP_PROXY: process.env['HTTP_PROXY'], http_proxy: process.env['http_proxy'], NO_PROXY: process.env['NO_PROXY'], no_proxy: process.env['no_proxy'] };
  t.after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await proxy.close();
    await closeServer(server.wss);
  });
  delete process.env['http_proxy'];
  delete process.env['no_proxy'];
  process.env['HTTP_PROXY'] = proxy.url;
  process.env['NO_PROXY'] = 'example.com';
  await echoes(new WebSocket(server.url, { proxy: 'env' }), 'via env');
  assert.equal(connectsLogged(proxy).length, 1);
  process.env['NO_PROXY'] = `example.com,127.0.0.1:${server.port}`;
  await echoes(new WebSocket(server.url, { proxy: 'env' }), 'direct');
  assert.equal(connectsLogged(proxy).length, 1);
  // Without proxy: 'env', the environment is never read.
  process.env['NO_PROXY'] = '';
  await echoes(new WebSocket(server.url), 'no option');
  assert.equal(connectsLogged(proxy).length, 1);
});

test('a proxy that accepts and never answers: ERR_PROXY_TIMEOUT after handshakeTimeout; terminate() while tunnelling drops the proxy connection', T, async (t) => {
  const sockets: Socket[] = [];
  const silent = createNetServer((socket) => sockets.push(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const proxy = `socks5://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const error = await proxyErrorOf(new WebSocket('ws://example.com/', { proxy, handshakeTimeout: 100 }));
  assert.equal(error.code, 'ERR_PROXY_TIMEOUT');
  assert.equal(error.message, `Proxy ${proxy}: SOCKS5 CONNECT to example.com:80 has timed out`);

  const connection = once(silent, 'connection');
  const ws = new WebSocket('ws://example.com/', { proxy });
  const [socket] = (await connection) as [Socket];
  const ended = once(socket, 'close');
  const close = closed(ws);
  ws.on('error', () => {});
  ws.terminate();
  await ended;
  assert.equal((await close).code, 1006);
});

test('proxy with createConnection, agent or a ws+unix: URL is a TypeError; a bad proxy URL a SyntaxError', T, () => {
  assert.throws(() => new WebSocket('ws://h/', { proxy: 'http://p:1', createConnection: () => netConnect(1) }), { name: 'TypeError', message: 'The proxy option cannot be combined with createConnection' });
  assert.throws(() => new WebSocket('ws+unix:///tmp/x.sock', { proxy: 'http://p:1' }), { name: 'TypeError' });
  assert.throws(() => new WebSocket('ws://h/', { proxy: 'ftp://p:1' }), { name: 'SyntaxError', message: 'Unsupported proxy scheme "ftp" (supported: http, https, socks5, socks5h)' });
});
