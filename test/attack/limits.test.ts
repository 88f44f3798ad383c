// The connection limits against a real server process: maxConnections (40
// open: the next upgrades get 503 with Retry-After until one closes),
// maxPendingHandshakes (40 connections before their upgrade: 260 more
// slowloris connections are answered 503 at their first bytes, not held) and
// idleTimeout (connections that say nothing are closed with 1001). Refused
// attempts leave nothing behind; a probe echoes once there is room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttackServer, KiB, Trickler, answerTo, held, probe, readUntilClose, upgradeRaw } from './helpers.js';
import { Opcode, connectRaw, upgradeRequest, type RawClient } from '../support/raw-socket.js';

const T = { timeout: 60_000 };
const LIMIT = 40;
const CONFIG = {
  own: { maxConnections: LIMIT, maxPendingHandshakes: LIMIT, handshakeTimeout: 600_000 },
  attached: { idleTimeout: 300 },
};

const upgrade = (port: number): string => upgradeRequest('/', { Host: `127.0.0.1:${port}` });

async function closeCleanly(client: RawClient): Promise<void> {
  await client.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) });
  await readUntilClose(client);
  await client.destroy();
}

test(`maxConnections ${LIMIT}: the next 200 upgrades get 503 with Retry-After and cost nothing; a freed slot is taken`, T, async () => {
  const server = await AttackServer.start(CONFIG);
  const clients: RawClient[] = [];
  try {
    const port = server.port('own');
    await probe(port);
    for (let i = 0; i < LIMIT; i++) clients.push(await upgradeRaw(port));
    assert.equal((await answerTo(port, upgrade(port))).status, 503); // the refusal's code is compiled before the baseline
    const before = await server.memory();
    assert.equal(before.own!.open, LIMIT);
    for (let i = 0; i < 200; i++) {
      const answer = await answerTo(port, upgrade(port));
      assert.equal(answer.status, 503);
      assert.equal(answer.headers['retry-after'], '5');
    }
    const after = await server.until((c) => c.fds <= before.fds);
    assert.equal(after.own!.refused['max_connections'], 201);
    const memory = await server.memory();
    // A refusal that kept even 2.5 KB would show.
    assert.ok(held(memory) - held(before) < 512 * KiB, `server holds ${held(memory) - held(before)} bytes after 200 refusals`);
    await closeCleanly(clients.pop()!);
    await server.until((c) => c.own!.open === LIMIT - 1);
    await probe(port);
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    await server.stop();
  }
});

test(`maxPendingHandshakes ${LIMIT}: of 300 slowloris connections, ${LIMIT} are held and 260 answered 503 at once`, T, async () => {
  const server = await AttackServer.start(CONFIG);
  const trickler = new Trickler();
  const clients: RawClient[] = [];
  try {
    const port = server.port('own');
    await probe(port);
    const before = await server.counters();
    for (let i = 0; i < 300; i++) {
      const client = await connectRaw(port);
      clients.push(client);
      await trickler.add(client, upgrade(port).slice(0, -2));
    }
    const answered: RawClient[] = [];
    const held: RawClient[] = [];
    await server.until((c) => c.fds <= before.fds + LIMIT); // every refused connection is gone
    for (const c of clients) (c.ended ? answered : held).push(c);
    assert.equal(held.length, LIMIT);
    const statuses = await Promise.all(answered.map(async (c) => (await c.readHttpHead()).status));
    assert.deepEqual(new Set(statuses), new Set([503]));
    assert.equal(statuses.length, 300 - LIMIT);
    for (const c of held) assert.equal(c.buffered, 0);
    assert.equal((await answerTo(port, upgrade(port))).status, 503, 'still full');
    await Promise.all(held.map((c) => c.destroy()));
    await server.until((c) => c.fds <= before.fds);
    await probe(port);
  } finally {
    trickler.stop();
    await Promise.all(clients.map((c) => c.destroy()));
    await server.stop();
  }
});

test('idleTimeout: 50 connections that say nothing are closed with 1001', T, async () => {
  const server = await AttackServer.start(CONFIG);
  try {
    const port = server.port('attached');
    const clients = await Promise.all(Array.from({ length: 50 }, () => upgradeRaw(port)));
    try {
      const codes = await Promise.all(clients.map(async (c) => {
        const { code } = await readUntilClose(c);
        await c.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe9]) });
        return code;
      }));
      assert.deepEqual(new Set(codes), new Set([1001]));
      const after = await server.until((c) => c.attached!.open === 0);
      assert.equal(after.attached!.closeCodes['1001'], 50);
    } finally {
      await Promise.all(clients.map((c) => c.destroy()));
    }
    await probe(port);
  } finally {
    await server.stop();
  }
});
