// The server a WebSocketServer runs for `port`: heads read with the strict
// parser, upgrades handed on as node:http would, everything else answered
// and closed, and the deadline from accept to upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect as connectTls, createSecureContext, type TLSSocket } from 'node:tls';
import { createUpgradeServer, type UpgradeServer, type UpgradeServerOptions } from '../../src/node/upgrade-server.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate, type TestCertificate } from '../support/tls.js';

const T = { timeout: 20_000 };
const HEAD = 'GET /chat?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

interface Upgraded {
  req: IncomingMessage;
  socket: Socket;
  head: Buffer;
}

async function start(options: Partial<UpgradeServerOptions> = {}): Promise<{ server: UpgradeServer; port: number; upgrades: Upgraded[]; requests: IncomingMessage[] }> {
  const upgrades: Upgraded[] = [];
  const requests: IncomingMessage[] = [];
  const server = createUpgradeServer({
    handshakeTimeout: 0,
    maxPending: 0,
    maxHeadBytes: 1024,
    maxFields: 10,
    upgrade: (req, socket, head) => {
      upgrades.push({ req, socket, head });
      socket.end();
    },
    request: (req) => {
      requests.push(req);
      return { status: 426, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Upgrade Required' };
    },
    ...options,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, upgrades, requests };
}

/** Connects, writes `pieces` one by one, and returns everything the server sent until it closed. */
async function exchange(port: number, pieces: Array<string | Buffer>): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

async function stop(server: UpgradeServer): Promise<void> {
  server.dropPending();
  await new Promise((resolve) => server.close(resolve));
}

test('an upgrade: the request as node:http presents it, the socket, and the bytes after the head', T, async () => {
  const { server, port, upgrades } = await start();
  try {
    await exchange(port, [Buffer.from(`${HEAD}\x81\x80ABCD`, 'latin1')]);
    assert.equal(upgrades.length, 1);
    const { req, head } = upgrades[0]!;
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/chat?x=1');
    assert.equal(req.httpVersion, '1.1');
    assert.equal(req.headers['upgrade'], 'websocket');
    assert.equal(req.headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
    assert.deepEqual(req.rawHeaders.slice(0, 2), ['Host', 'h']);
    assert.equal(req.socket, upgrades[0]!.socket);
    assert.equal(head.toString('latin1'), '\x81\x80ABCD');
  } finally {
    await stop(server);
  }
});

test('a head that arrives one byte at a time is read all the same', T, async () => {
  const { server, port, upgrades } = await start();
  try {
    await exchange(port, [...HEAD]);
    assert.equal(upgrades.length, 1);
    assert.equal(upgrades[0]!.head.length, 0);
  } finally {
    await stop(server);
  }
});

test('a HEAD request gets the answer without its body', T, async () => {
  const { server, port } = await start();
  try {
    const response = await exchange(port, ['HEAD / HTTP/1.1\r\nHost: h\r\n\r\n']);
    assert.equal(response, 'HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\n\r\n');
  } finally {
    await stop(server);
  }
});

test('a request that is no upgrade gets the answer with Connection: close, then the connection closes', T, async () => {
  const { server, port, requests, upgrades } = await start();
  try {
    const response = await exchange(port, ['GET / HTTP/1.1\r\nHost: h\r\n\r\n']);
    assert.equal(response, 'HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\n\r\nUpgrade Required');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.url, '/');
    assert.equal(upgrades.length, 0);
  } finally {
    await stop(server);
  }
});

for (const [name, pieces, status] of [
  ['a malformed head', ['GET / HTTP/1.1\r\nBad Header: x\r\n\r\n'], '400 Bad Request'],
  ['a head over maxHeadBytes that never ends', [`GET / HTTP/1.1\r\nX: ${'a'.repeat(1100)}`], '431 Request Header Fields Too Large'],
  ['more fields than maxFields', [`GET / HTTP/1.1\r\n${'X: a\r\n'.repeat(11)}\r\n`], '431 Request Header Fields Too Large'],
  ['TLS bytes, at once', [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01])], '400 Bad Request'],
] as const) {
  test(`${name}: ${status}, connection closed`, T, async () => {
    const { server, port, upgrades, requests } = await start();
    try {
      const response = await exchange(port, [...pieces]);
      assert.match(response, new RegExp(`^HTTP/1.1 ${status}\r\n`));
      assert.equal(upgrades.length + requests.length, 0);
    } finally {
      await stop(server);
    }
  });
}

test('handshakeTimeout: a connection that sends nothing is dropped, one that upgraded is not', T, async () => {
  const { server, port, upgrades } = await start({
    handshakeTimeout: 100,
    upgrade: (req, socket, head) => upgrades.push({ req, socket, head }),
  });
  try {
    const silent = connect(port, '127.0.0.1');
    silent.on('error', () => {});
    const upgraded = connect(port, '127.0.0.1');
    upgraded.write(HEAD);
    await once(silent, 'close'); // dropped at the deadline, having received nothing
    assert.equal(upgrades.length, 1);
    assert.equal(upgrades[0]!.socket.destroyed, false, 'the upgraded one is past the deadline and still open');
    upgrades[0]!.socket.destroy();
    upgraded.destroy();
  } finally {
    await stop(server);
  }
});

test('dropPending destroys connections still before their upgrade', T, async () => {
  const { server, port } = await start();
  const waiting = connect(port, '127.0.0.1');
  waiting.on('error', () => {});
  await once(waiting, 'connect');
  await new Promise((resolve) => setImmediate(resolve));
  const closed = once(waiting, 'close');
  await stop(server);
  await closed;
});

test('above maxPending connections before their upgrade, a new one is answered 503 with Retry-After; a freed slot admits again', T, async () => {
  const { server, port, upgrades } = await start({ maxPending: 2 });
  const holders: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\n'); // a head that has not ended: pending
    holders.push(socket);
  }
  // The server counts a connection when it accepts it: wait until both are in.
  while ((await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)))) < 2) await new Promise((r) => setImmediate(r));
  const refused = await exchange(port, [HEAD]);
  assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(refused, /\r\nRetry-After: 1\r\n/);
  assert.match(refused, /\r\n\r\nToo many handshakes in progress$/);
  assert.equal(upgrades.length, 0);

  holders[0]!.destroy();
  await once(holders[0]!, 'close');
  while ((await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)))) > 1) await new Promise((r) => setImmediate(r));
  await exchange(port, [HEAD]);
  assert.equal(upgrades.length, 1, 'a slot freed: the next upgrade goes through');
  holders[1]!.destroy();
  await stop(server);
});

// TLS (`secureContext`): the same server behind a server TLSSocket per connection.
const tlsSkip = skipReason(opensslPath());
let certificate: Promise<TestCertificate> | undefined;
const testCertificate = () => (certificate ??= createTestCertificate());

async function startTls(options: Partial<UpgradeServerOptions> = {}) {
  const { key, cert } = await testCertificate();
  return start({ secureContext: createSecureContext({ key, cert }), ...options });
}

/** A TLS client trusting the test CA, connected (handshake done). */
async function tlsClient(port: number): Promise<TLSSocket> {
  const socket = connectTls({ port, host: '127.0.0.1', ca: (await testCertificate()).ca, ALPNProtocols: ['h2', 'http/1.1'] });
  socket.on('error', () => {});
  await once(socket, 'secureConnect');
  return socket;
}

test('TLS: an upgrade arrives on the TLSSocket (encrypted, ALPN http/1.1) with the bytes after the head; a plain request is answered over TLS', { ...T, skip: tlsSkip }, async () => {
  const { server, port, upgrades, requests } = await startTls();
  try {
    const client = await tlsClient(port);
    assert.equal(client.alpnProtocol, 'http/1.1', 'h2 is not offered on this port');
    client.write(Buffer.from(`${HEAD}\x81\x80ABCD`, 'latin1'));
    await once(client, 'close');
    assert.equal(upgrades.length, 1);
    const { req, socket, head } = upgrades[0]!;
    assert.equal((socket as TLSSocket).encrypted, true);
    assert.equal(req.socket, socket);
    assert.equal(req.url, '/chat?x=1');
    assert.equal(head.toString('latin1'), '\x81\x80ABCD');

    const page = await tlsClient(port);
    const chunks: Buffer[] = [];
    page.on('data', (c: Buffer) => chunks.push(c));
    page.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await once(page, 'close');
    assert.equal(Buffer.concat(chunks).toString('latin1'), 'HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\n\r\nUpgrade Required');
    assert.equal(requests.length, 1);
  } finally {
    await stop(server);
  }
});

test('TLS: a plaintext request is answered 400 in plaintext and counted as a bad head; other plaintext bytes are dropped unanswered', { ...T, skip: tlsSkip }, async () => {
  const refused: string[] = [];
  const { server, port, upgrades } = await startTls({ refused: (why) => refused.push(why) });
  try {
    assert.equal(
      await exchange(port, [HEAD]),
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 45\r\n\r\nThis port speaks TLS: use https:// or wss://\n',
    );
    assert.equal(await exchange(port, [Buffer.from([0, 1, 2, 3])]), '');
    assert.deepEqual(refused, ['request_head', 'request_head']);
    assert.equal(upgrades.length, 0);
  } finally {
    await stop(server);
  }
});

test('TLS: the handshake deadline covers the TLS handshake: a stalled ClientHello and a TLS connection that sends no head are both dropped', { ...T, skip: tlsSkip }, async () => {
  const { server, port, upgrades } = await startTls({ handshakeTimeout: 100, upgrade: (req, socket, head) => upgrades.push({ req, socket, head }) });
  try {
    // A TLS record header announcing 512 bytes of handshake, then nothing.
    const stalled = connect(port, '127.0.0.1');
    stalled.on('error', () => {});
    const received: Buffer[] = [];
    stalled.on('data', (c: Buffer) => received.push(c));
    stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    const silent = await tlsClient(port);
    const upgraded = await tlsClient(port);
    upgraded.write(HEAD);
    await Promise.all([once(stalled, 'close'), once(silent, 'close')]);
    assert.equal(Buffer.concat(received).length, 0, 'the stalled client got no answer');
    assert.equal(upgrades.length, 1);
    assert.equal(upgrades[0]!.socket.destroyed, false, 'the upgraded one is past the deadline and still open');
    upgrades[0]!.socket.destroy();
    upgraded.destroy();
  } finally {
    await stop(server);
  }
});

test('TLS: dropPending destroys a connection still in its TLS handshake; above maxPending the 503 is sent over TLS', { ...T, skip: tlsSkip }, async () => {
  const { server, port, upgrades } = await startTls({ maxPending: 1 });
  const holder = connect(port, '127.0.0.1');
  holder.on('error', () => {});
  await once(holder, 'connect');
  holder.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])); // a TLS handshake that never completes
  while ((await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)))) < 1) await new Promise((r) => setImmediate(r));
  const busy = await tlsClient(port);
  const chunks: Buffer[] = [];
  busy.on('data', (c: Buffer) => chunks.push(c));
  busy.write(HEAD);
  await once(busy, 'close');
  assert.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*\r\n\r\nToo many handshakes in progress$/);
  assert.equal(upgrades.length, 0);
  const closed = once(holder, 'close');
  await stop(server);
  await closed;
});
