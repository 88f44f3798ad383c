// Oversized and hostile request heads against a real server process, on our
// own port and on a node:http server with a WebSocketServer attached: 10,000
// header fields, a 1 MiB header, a header block that never ends, a
// subprotocol bomb and extension bombs. Each gets its HTTP status (431 for
// the size caps, 400 for the counted lists), the server keeps no memory of
// it, and a probe still connects and echoes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttackServer, KiB, MiB, answerTo, held, probe } from './helpers.js';
import { connectRaw } from '../support/raw-socket.js';

const T = { timeout: 60_000 };

const head = (port: number, fields: string): string =>
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${fields}\r\n`;

const protocols = (n: number): string => Array.from({ length: n }, (_, i) => `p${i}`).join(',');

const ATTACKS: Array<[string, (port: number) => string, number]> = [
  ['10,000 header fields', (port) => head(port, 'X-A: b\r\n'.repeat(10_000)), 431],
  ['a 1 MiB header', (port) => head(port, `X-Big: ${'a'.repeat(MiB)}\r\n`), 431],
  ['a subprotocol bomb (2,000 offered)', (port) => head(port, `Sec-WebSocket-Protocol: ${protocols(2000)}\r\n`), 400],
  ['a subprotocol bomb of duplicates (6,000 times "a")', (port) => head(port, `Sec-WebSocket-Protocol: ${'a,'.repeat(6000)}a\r\n`), 400],
  ['an extension bomb (1,000 offers)', (port) => head(port, `Sec-WebSocket-Extensions: ${'permessage-deflate,'.repeat(700)}x\r\n`), 400],
  ['an extension parameter bomb (2,000 parameters)', (port) => head(port, `Sec-WebSocket-Extensions: permessage-deflate${'; a=1'.repeat(2000)}\r\n`), 400],
];

for (const endpoint of ['own', 'attached'] as const) {
  const where = endpoint === 'own' ? 'our own port' : 'an attached node:http server';

  test(`hostile heads on ${where}: each gets its status, nothing is kept, the probe echoes`, T, async () => {
    const server = await AttackServer.start({ [endpoint]: {} });
    try {
      const port = server.port(endpoint);
      await probe(port);
      const before = await server.memory();
      const statuses: string[] = [];
      for (const [name, request, status] of ATTACKS) {
        const answer = await answerTo(port, request(port));
        statuses.push(`${name}: ${answer.status}`);
        assert.equal(answer.status, status, name);
      }
      const after = await server.until((c) => c.fds <= before.fds);
      assert.equal(after[endpoint]!.accepted, before[endpoint]!.accepted, 'no attack upgraded');
      const memory = await server.memory();
      assert.ok(held(memory) - held(before) < 512 * KiB, `server holds ${held(memory) - held(before)} bytes more after the attacks`);
      await probe(port);
    } finally {
      await server.stop();
    }
  });

  // Our port answers 431 and reads (discarding) until the answer is out; node:http answers 431 and
  // destroys the socket at once, so its answer may be lost to the reset: there the cut-off is the outcome.
  test(`a header block that never ends, on ${where}: ${endpoint === 'own' ? '431, then' : 'the'} connection cut long before the attacker stops`, T, async () => {
    const server = await AttackServer.start({ [endpoint]: {} });
    const client = await connectRaw(server.port(endpoint));
    try {
      const port = server.port(endpoint);
      client.socket.on('error', () => {});
      const answer = client.readHttpHead().then((h) => h.status, () => 'reset');
      const line = Buffer.from(`X-Endless: ${'a'.repeat(1000)}\r\n`);
      let written = 0;
      await client.write(head(port, '').slice(0, -2));
      // Until the server ends or resets the connection; 64 MiB is only a safety net. Each turn
      // yields to the event loop: writes to a fast reader complete at once, and would starve it.
      while (!client.ended && !client.socket.destroyed && written < 64 * MiB) {
        await client.write(line).catch(() => {});
        written += line.length;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(written < 64 * MiB, `the server read ${written} bytes of headers`);
      const status = await answer;
      if (endpoint === 'own') assert.equal(status, 431);
      else assert.ok(status === 431 || status === 'reset', `answer ${status}`);
      await probe(port);
    } finally {
      await client.destroy();
      await server.stop();
    }
  });
}

test('a subprotocol bomb of 100,000 offers on a node:http server that allows 1 MiB heads: 400, the probe echoes', T, async () => {
  const server = await AttackServer.start({ attached: {}, httpMaxHeaderSize: 2 * MiB });
  try {
    const port = server.port('attached');
    const answer = await answerTo(port, head(port, `Sec-WebSocket-Protocol: ${protocols(100_000)}\r\n`));
    assert.equal(answer.status, 400);
    const dupes = await answerTo(port, head(port, `Sec-WebSocket-Protocol: ${'a,'.repeat(300_000)}a\r\n`));
    assert.equal(dupes.status, 400);
    await probe(port);
  } finally {
    await server.stop();
  }
});
