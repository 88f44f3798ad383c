// Slowloris against a real server process: hundreds of connections trickle
// a request head that never ends (one byte per connection every 25 ms, so no
// idle timer fires). Our own port drops each one at its handshake deadline,
// without an answer; a node:http server with a WebSocketServer attached does
// too, for the first head and for a second head on a kept-alive connection;
// `hyperws serve` does on its port. While they are held, the server's memory
// grows by a bounded number of bytes per connection; afterwards its file
// descriptors are back where they were, and a probe connects and echoes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttackServer, KiB, Trickler, held, probe } from './helpers.js';
import { connectRaw, upgradeRequest, type RawClient } from '../support/raw-socket.js';
import { startServe } from '../cli/helpers.js';

const CONNECTIONS = 300;
const DEADLINE = 1000;
/** Memory a held connection may cost the server (measured: about 2 KiB; see README). */
const PER_CONNECTION = 8 * KiB;
const T = { timeout: 60_000 };

/** The head of a WebSocket upgrade request, without the empty line that ends it. */
const partialUpgrade = (port: number): string => upgradeRequest('/', { Host: `127.0.0.1:${port}` }).slice(0, -2);

/** Opens `count` trickling connections, 50 at a time; resolves once all are open and trickling. */
async function openSlow(port: number, count: number, trickler: Trickler, head: (c: RawClient) => Promise<string>): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  const one = async (): Promise<void> => {
    const client = await connectRaw(port);
    clients.push(client);
    await trickler.add(client, await head(client));
  };
  for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, one));
  return clients;
}

/** What each client received until the server dropped it. */
const dropped = (clients: RawClient[]): Promise<string[]> => Promise.all(clients.map(async (c) => (await c.readUntilEnd()).toString('latin1')));

for (const endpoint of ['own', 'attached'] as const) {
  const where = endpoint === 'own' ? 'our own port' : 'attached to a node:http server';

  test(`slowloris, ${where}: ${CONNECTIONS} trickled heads are dropped at the deadline, unanswered`, T, async () => {
    const server = await AttackServer.start({ [endpoint]: { handshakeTimeout: DEADLINE } });
    const trickler = new Trickler();
    let clients: RawClient[] = [];
    try {
      const port = server.port(endpoint);
      await probe(port);
      const before = await server.counters();
      clients = await openSlow(port, CONNECTIONS, trickler, async () => partialUpgrade(port));
      assert.deepEqual(new Set(await dropped(clients)), new Set(['']));
      await server.until((c) => c.fds <= before.fds);
      await probe(port);
    } finally {
      trickler.stop();
      await Promise.all(clients.map((c) => c.destroy()));
      await server.stop();
    }
  });

  test(`slowloris, ${where}: memory while ${CONNECTIONS} trickled heads are held is bounded per connection`, T, async () => {
    // A deadline far away, so that every connection is still held when measured.
    const server = await AttackServer.start({ [endpoint]: { handshakeTimeout: 600_000 } });
    const trickler = new Trickler();
    let clients: RawClient[] = [];
    try {
      const port = server.port(endpoint);
      await probe(port);
      const before = await server.memory();
      clients = await openSlow(port, CONNECTIONS, trickler, async () => partialUpgrade(port));
      await server.until((c) => c.fds >= before.fds + CONNECTIONS);
      const during = await server.memory();
      assert.equal(during.fds, before.fds + CONNECTIONS);
      const growth = held(during) - held(before);
      assert.ok(growth < CONNECTIONS * PER_CONNECTION, `server grew by ${growth} bytes for ${CONNECTIONS} held connections`);
      console.log(`# slowloris ${endpoint}: ${Math.round(growth / CONNECTIONS)} bytes per held connection`);
      await Promise.all(clients.map((c) => c.destroy()));
      await server.until((c) => c.fds <= before.fds);
      await probe(port);
    } finally {
      trickler.stop();
      await Promise.all(clients.map((c) => c.destroy()));
      await server.stop();
    }
  });
}

test('slowloris after a kept-alive request on an attached node:http server: the answer comes, the second head is dropped', T, async () => {
  const server = await AttackServer.start({ attached: { handshakeTimeout: DEADLINE } });
  const trickler = new Trickler();
  let clients: RawClient[] = [];
  try {
    const port = server.port('attached');
    const before = await server.counters();
    const answers: string[] = [];
    clients = await openSlow(port, 100, trickler, async (client) => {
      await client.write(`GET /page HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      const head = await client.readHttpHead();
      answers.push(`${head.status} ${(await client.read(Number(head.headers['content-length']))).toString()}`);
      return `GET /again HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
    });
    assert.deepEqual(new Set(answers), new Set(['200 plain answer\n']));
    assert.deepEqual(new Set(await dropped(clients)), new Set(['']));
    await server.until((c) => c.fds <= before.fds);
    await probe(port);
  } finally {
    trickler.stop();
    await Promise.all(clients.map((c) => c.destroy()));
    await server.stop();
  }
});

test('keep-alive on our own port: a plain request is answered with Connection: close and the connection ends, trickle or not', T, async () => {
  const server = await AttackServer.start({ own: { handshakeTimeout: 60_000 } });
  const trickler = new Trickler();
  let clients: RawClient[] = [];
  try {
    const port = server.port('own');
    const before = await server.counters();
    const heads: string[] = [];
    clients = await openSlow(port, 100, trickler, async (client) => {
      await client.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
      const head = await client.readHttpHead();
      await client.read(Number(head.headers['content-length']));
      heads.push(`${head.status} ${head.headers['connection']}`);
      return `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
    });
    // Not the deadline (60 s here): the answer ended the connection.
    assert.deepEqual(new Set(heads), new Set(['426 close']));
    assert.deepEqual(new Set(await dropped(clients)), new Set(['']));
    await server.until((c) => c.fds <= before.fds);
    await probe(port);
  } finally {
    trickler.stop();
    await Promise.all(clients.map((c) => c.destroy()));
    await server.stop();
  }
});

test('slowloris against `hyperws serve`: trickled heads dropped at --handshake-timeout, the console page answered and closed', T, async () => {
  const serve = await startServe(['--handshake-timeout', String(DEADLINE)]);
  const trickler = new Trickler();
  let clients: RawClient[] = [];
  try {
    clients = await openSlow(serve.port, 100, trickler, async () => partialUpgrade(serve.port));
    const page = await connectRaw(serve.port);
    clients.push(page);
    await page.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${serve.port}\r\nConnection: keep-alive\r\n\r\n`);
    const head = await page.readHttpHead();
    assert.equal(head.status, 200);
    assert.equal(head.headers['connection'], 'close');
    assert.deepEqual(new Set(await dropped(clients.slice(0, -1))), new Set(['']));
    await page.waitForEnd();
    await probe(serve.port);
  } finally {
    trickler.stop();
    await Promise.all(clients.map((c) => c.destroy()));
    await serve.stop();
  }
});
