// `hyperws connect` as a child process: slash commands, --proxy (a real
// tinyproxy), --auth, --ca/--cert/--key, and `serve` accepting any path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from '../../src/index.js';
import { runCli, startCli, startServe } from './helpers.js';
import { parseDuration } from '../../src/cli/args.js';
import { startTinyproxy } from '../support/proxies.js';
import { opensslPath, skipReason, tinyproxyPath } from '../support/system.js';
import { createTestCertificate, createUntrustedCertificate, encryptKey } from '../support/tls.js';

const T = { timeout: 30_000 };

async function recordingServer(options: { verifyClient?: (info: { req: IncomingMessage }) => boolean } = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const events: string[] = [];
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      events.push(isBinary ? `binary ${data.toString('hex')}` : `text ${data.toString()}`);
      ws.send(data, { binary: isBinary });
    });
    ws.on('ping', (data: Buffer) => events.push(`ping ${data.toString()}`));
    ws.on('pong', (data: Buffer) => events.push(`pong ${data.toString()}`));
    ws.on('close', (code: number, reason: Buffer) => events.push(`close ${code} ${reason.toString()}`));
  });
  const port = (wss.address() as AddressInfo).port;
  return { wss, events, url: `ws://127.0.0.1:${port}/`, close: () => new Promise<void>((resolve) => wss.close(() => resolve())) };
}

test('slash commands: // escapes, /binary, /ping with its round trip, /pong, an unknown one, /close with code and reason', T, async () => {
  const server = await recordingServer();
  try {
    const stdin = ['hello', '//slash', '/binary 00 ff', '/ping abc', '/pong x', '/bogus', '/close 4000 done', ''].join('\n');
    const r = await runCli(['connect', server.url], stdin);
    assert.deepEqual(server.events, ['text hello', 'text /slash', 'binary 00ff', 'ping abc', 'pong x', 'close 4000 done']);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['< hello', '< /slash', '< [binary 2 bytes] 00 ff']);
    assert.match(lines[3]!, /^< pong abc \(round trip \d+\.\d{3} ms\)$/);
    assert.equal(lines.length, 4);
    assert.match(r.stderr, /hyperws connect: unknown command '\/bogus'/);
    assert.match(r.stderr, /closed: 4000 done\n$/);
    assert.equal(r.status, 1); // 4000 is not a normal close
  } finally {
    await server.close();
  }
});

test('--auth sends Basic credentials; without them the server refuses', T, async () => {
  const expected = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  const server = await recordingServer({ verifyClient: ({ req }) => req.headers.authorization === expected });
  try {
    const ok = await runCli(['connect', server.url, '--auth', 'alice:s3cret', '-x', 'hi']);
    assert.equal(ok.stdout, '< hi\n');
    assert.equal(ok.status, 0);
    const refused = await runCli(['connect', server.url, '-x', 'hi']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /handshake refused: HTTP 401/);
    const bad = await runCli(['connect', server.url, '--auth', 'nocolon']);
    assert.equal(bad.status, 2);
  } finally {
    await server.close();
  }
});

test('--proxy through tinyproxy; a proxy error is reported with its code', { ...T, skip: skipReason(tinyproxyPath()) }, async () => {
  const server = await recordingServer();
  const proxy = await startTinyproxy({ user: 'p', password: 'q' });
  try {
    const ok = await runCli(['connect', server.url, '--proxy', proxy.url, '-x', 'via proxy']);
    assert.equal(ok.stdout, '< via proxy\n');
    assert.equal(ok.status, 0);
    assert.match(proxy.output(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${new URL(server.url).port} `));
    const denied = await runCli(['connect', server.url, '--proxy', proxy.bareUrl, '-x', 'x']);
    assert.equal(denied.status, 1);
    assert.equal(denied.stderr, `hyperws connect: proxy error (ERR_PROXY_AUTH_REQUIRED): Proxy ${proxy.bareUrl} requires authentication (407 Proxy Authentication Required): give user:pass in the proxy URL\n`);
  } finally {
    await proxy.close();
    await server.close();
  }
});

test('--ca trusts a test CA for wss://; without it the certificate is refused', { ...T, skip: skipReason(opensslPath()) }, async () => {
  const cert = await createTestCertificate();
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-cli-ca-'));
  const https = createHttpsServer({ key: cert.key, cert: cert.cert });
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(data.toString())));
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  try {
    await writeFile(join(dir, 'ca.pem'), cert.ca);
    const url = `wss://localhost:${(https.address() as AddressInfo).port}/`;
    const ok = await runCli(['connect', url.replace('localhost', '127.0.0.1'), '--ca', join(dir, 'ca.pem'), '-x', 'tls']);
    assert.equal(ok.stdout, '< tls\n');
    assert.equal(ok.status, 0);
    const refused = await runCli(['connect', url.replace('localhost', '127.0.0.1'), '-x', 'tls']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /TLS error/);
    const missing = await runCli(['connect', url, '--ca', join(dir, 'nope.pem')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^hyperws connect: Option '--ca': cannot read '.*nope\.pem' \(ENOENT\)/);
  } finally {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    https.closeAllConnections();
    await new Promise((resolve) => https.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});

test('--cert/--key/--passphrase present a client certificate to a server that requires one; without it the server refuses (no --insecure hint)', { ...T, skip: skipReason(opensslPath()) }, async () => {
  const server = await createTestCertificate();
  const client = await createUntrustedCertificate({ commonName: 'hyperws-client', altNames: [] });
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-cli-client-cert-'));
  const https = createHttpsServer({ key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: true, ca: client.cert });
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
    ws.on('message', (data: Buffer) => ws.send(`${peer.subject.CN}: ${data.toString()}`));
  });
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  try {
    await writeFile(join(dir, 'ca.pem'), server.ca);
    await writeFile(join(dir, 'client.pem'), client.cert);
    await writeFile(join(dir, 'client.key'), await encryptKey(client.key, 'pw'));
    const url = `wss://localhost:${(https.address() as AddressInfo).port}/`;
    const ca = ['--ca', join(dir, 'ca.pem')];
    const ok = await runCli(['connect', url, ...ca, '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key'), '--passphrase', 'pw', '-x', 'mtls']);
    assert.equal(ok.stdout, '< hyperws-client: mtls\n');
    assert.equal(ok.status, 0);
    const refused = await runCli(['connect', url, ...ca, '-x', 'mtls']);
    assert.equal(refused.status, 1);
    assert.equal(refused.stdout, '');
    // TLS 1.3: the server's alert for the missing certificate (the client learns it after its Finished).
    assert.match(refused.stderr, /^hyperws connect: TLS error connecting to wss:\/\/localhost:\d+\/: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required \(SSL alert number 116\) \(the server asks for a client certificate: --cert and --key\)\n$/);
    const wrong = await runCli(['connect', url, ...ca, '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key'), '--passphrase', 'nope']);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /^hyperws connect: Option '--passphrase': wrong passphrase for '.*client\.key'/);
  } finally {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    https.closeAllConnections();
    await new Promise((resolve) => https.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve accepts upgrades on any path by default; --path still restricts', T, async () => {
  const serve = await startServe();
  const strict = await startServe(['--path', '/ws']);
  try {
    const any = await runCli(['connect', `ws://127.0.0.1:${serve.port}/chat/room?x=1`, '-x', 'anywhere']);
    assert.equal(any.stdout, '< anywhere\n');
    assert.equal(any.status, 0);
    const refused = await runCli(['connect', `ws://127.0.0.1:${strict.port}/chat`, '-x', 'x']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /handshake refused: HTTP 400/);
  } finally {
    await serve.kill();
    await strict.kill();
  }
});

test('--ping-interval pings on its own and prints each pong with its round trip; stdin end closes', T, async () => {
  const server = await recordingServer();
  const cli = startCli(['connect', server.url, '--ping-interval', '10ms']);
  try {
    assert.match(await cli.stdout.next(), /^< pong 1 \(round trip \d+\.\d{3} ms\)$/);
    assert.match(await cli.stdout.next(), /^< pong 2 \(round trip \d+\.\d{3} ms\)$/);
    cli.child.stdin.end();
    assert.equal(await cli.exited, 0);
    assert.deepEqual(server.events.slice(0, 2), ['ping 1', 'ping 2']);
  } finally {
    await cli.kill();
    await server.close();
  }
});

test('durations: milliseconds, or with a unit', () => {
  assert.equal(parseDuration('wait', '1500'), 1500);
  assert.equal(parseDuration('wait', '500ms'), 500);
  assert.equal(parseDuration('wait', '1.5s'), 1500);
  assert.equal(parseDuration('wait', '2m'), 120_000);
  assert.throws(() => parseDuration('wait', '5 s'), { name: 'UsageError', message: "Option '--wait' expects a duration (milliseconds, or with a unit: 500ms, 5s, 2m), got '5 s'" });
  assert.throws(() => parseDuration('wait', '1h'), { name: 'UsageError' });
});

test('--wait takes a unit', T, async () => {
  const server = await recordingServer();
  try {
    const r = await runCli(['connect', server.url, '-x', 'a', '-x', 'b', '--wait', '0.05s']);
    // The server echoes both, so the wait is cut short by the replies; the unit is accepted.
    assert.equal(r.stdout, '< a\n< b\n');
    assert.equal(r.status, 0);
  } finally {
    await server.close();
  }
});
