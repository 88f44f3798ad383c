// Slow readers against a real server process with maxBackpressure 1 MiB: a
// peer that asks for 64 MiB and never reads is closed with 1008 ('close'
// policy, our own port) or has the excess dropped ('drop' policy, the attached
// server) while the server holds a bounded number of bytes; a subscriber that
// never reads is closed with 1008 while the other subscribers get every
// publication. A probe still echoes afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttackServer, MiB, held, probe, readUntilClose, upgradeRaw } from './helpers.js';
import { Opcode, type RawClient } from '../support/raw-socket.js';

const T = { timeout: 60_000 };
const LIMIT = MiB;
const CONFIG = {
  own: { maxBackpressure: LIMIT, backpressurePolicy: 'close' as const },
  attached: { maxBackpressure: LIMIT, backpressurePolicy: 'drop' as const },
};
/** What the server may hold for a slow reader: the limit, one message over it, bookkeeping. */
const BOUND = LIMIT + 3 * MiB;

async function text(client: RawClient, payload: string): Promise<void> {
  await client.sendFrame({ opcode: Opcode.TEXT, payload });
}

/** Frames until a text frame with `payload`; returns how many binary frames came first. */
async function binaryUntil(client: RawClient, payload: string): Promise<number> {
  let binary = 0;
  for (;;) {
    const frame = await client.readFrame();
    if (frame.opcode === Opcode.BINARY) binary++;
    else if (frame.opcode === Opcode.TEXT && frame.payload.toString() === payload) return binary;
    else assert.fail(`unexpected frame ${frame.opcode} ${frame.payload.subarray(0, 40).toString()}`);
  }
}

test("slow reader on send, 'close' policy: 64 MiB asked, never read: closed with 1008, server holds about the limit", T, async () => {
  const server = await AttackServer.start(CONFIG);
  try {
    const port = server.port('own');
    await probe(port);
    const before = await server.memory();
    const client = await upgradeRaw(port);
    try {
      client.socket.pause();
      await text(client, 'cmd:flood:1024:65536');
      await server.until((c) => c.own!.backpressureCloses === 1);
      // (bufferedAmount is no measure here: as in ws, it also counts what was sent after the Close, and dropped.)
      const memory = await server.memory();
      const growth = held(memory) - held(before);
      assert.ok(growth < BOUND, `server holds ${growth} bytes for a reader that asked for 64 MiB`);
      console.log(`# slow reader (close): ${growth} bytes held`);
      client.socket.resume();
      const { code, dataFrames } = await readUntilClose(client);
      assert.equal(code, 1008);
      assert.ok(dataFrames > 0 && dataFrames < 1024, `${dataFrames} messages before the Close`);
      await client.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xf0]) });
      await server.until((c) => c.own!.open === 0);
    } finally {
      await client.destroy();
    }
    await probe(port);
  } finally {
    await server.stop();
  }
});

test("slow reader on send, 'drop' policy: the excess is dropped, the connection lives on, the server holds about the limit", T, async () => {
  const server = await AttackServer.start(CONFIG);
  try {
    const port = server.port('attached');
    await probe(port);
    const before = await server.memory();
    const client = await upgradeRaw(port);
    try {
      client.socket.pause();
      await text(client, 'cmd:flood:1024:65536');
      const during = await server.until((c) => c.attached!.sendErrors > 0 && c.attached!.bufferedAmount > 0);
      const memory = await server.memory();
      const growth = held(memory) - held(before);
      assert.ok(growth < BOUND, `server holds ${growth} bytes for a reader that asked for 64 MiB`);
      console.log(`# slow reader (drop): ${growth} bytes held, ${during.attached!.backpressureDrops} sends dropped`);
      client.socket.resume(); // the raw client buffers what arrives
      await server.until((c) => c.attached!.bufferedAmount === 0);
      await text(client, 'still there?');
      // Every send went out or was dropped (its callback got the error): 1,024 messages and 'flood-done'.
      const binary = await binaryUntil(client, 'still there?');
      const after = await server.counters();
      const floodDone = after.attached!.sendErrors === 1024 - binary ? 1 : 0;
      assert.equal(binary + after.attached!.sendErrors, 1024 + 1 - floodDone);
      assert.equal(after.attached!.backpressureDrops, after.attached!.sendErrors);
      assert.ok(binary < 1024, `${binary} messages delivered of 1024`);
      assert.equal(after.attached!.open, 1);
    } finally {
      await client.destroy();
    }
    await probe(port);
  } finally {
    await server.stop();
  }
});

test('slow reader on broadcast: a subscriber that never reads is closed with 1008, the 4 that read get all 600 publications', T, async () => {
  const server = await AttackServer.start(CONFIG);
  const clients: RawClient[] = [];
  try {
    const port = server.port('own');
    await probe(port);
    const before = await server.memory();
    const subscribe = async (): Promise<RawClient> => {
      const client = await upgradeRaw(port);
      clients.push(client);
      await text(client, 'cmd:subscribe');
      assert.equal((await client.readFrame()).payload.toString(), 'subscribed');
      return client;
    };
    const readers = [await subscribe(), await subscribe(), await subscribe(), await subscribe()];
    const slow = await subscribe();
    slow.socket.pause();
    const publisher = await upgradeRaw(port);
    clients.push(publisher);
    const count = 600;
    const received = [0, 0, 0, 0];
    // In lockstep: each publication is read by every reader before the next, so only the slow one lags.
    for (let i = 0; i < count; i++) {
      await text(publisher, 'cmd:publish:1:16384');
      assert.equal((await publisher.readFrame()).payload.toString(), 'published');
      await Promise.all(readers.map(async (r, k) => {
        const frame = await r.readFrame();
        assert.equal(frame.opcode, Opcode.BINARY);
        assert.equal(frame.payload.length, 16_384);
        received[k]!++;
      }));
    }
    assert.deepEqual(received, [count, count, count, count]);
    const during = await server.memory();
    assert.equal(during.own!.backpressureCloses, 1);
    const growth = held(during) - held(before);
    assert.ok(growth < BOUND, `server holds ${growth} bytes with one subscriber that never reads`);
    console.log(`# slow subscriber: ${growth} bytes held`);
    slow.socket.resume();
    const { code, dataFrames } = await readUntilClose(slow);
    assert.equal(code, 1008);
    assert.ok(dataFrames < count, `${dataFrames} publications reached the slow subscriber before its Close`);
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    await server.stop();
  }
});
