// Churn against a real server process: 1,500 connections open, exchange a
// message and close (half of them with permessage-deflate, some dropped
// without a closing handshake), 100 at a time. Measured after GC against a
// baseline taken after a warm-up of 1,500 connections (JIT code, pools and
// caches settle: 350-550 KB, then flat: +444 KB after 20,000), the server
// keeps no file descriptor and no memory for the connections gone, within
// 512 KiB (measured: 50-250 KB of noise); a leak of 350 bytes per connection
// would show, one of a connection's objects (a few KB) by far. A probe still
// echoes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttackServer, KiB, held, probe, readUntilClose, upgradeRaw } from './helpers.js';
import { Opcode } from '../support/raw-socket.js';

const T = { timeout: 60_000 };
const WAVE = 100;

async function oneConnection(port: number, i: number): Promise<void> {
  const deflate = i % 2 === 0;
  const client = await upgradeRaw(port, deflate ? { 'Sec-WebSocket-Extensions': 'permessage-deflate' } : {});
  try {
    const payload = `message ${i} ${'x'.repeat(i % 3 === 0 ? 2000 : 10)}`;
    await client.sendFrame({ opcode: Opcode.TEXT, payload });
    const echo = await client.readFrame();
    assert.equal(echo.opcode, Opcode.TEXT);
    if (echo.rsv === 0) assert.equal(echo.payload.toString(), payload);
    if (i % 10 === 9) return; // dropped without a closing handshake
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) });
    assert.equal((await readUntilClose(client)).code, 1000);
    await client.waitForEnd();
  } finally {
    await client.destroy();
  }
}

async function churn(port: number, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += WAVE) {
    await Promise.all(Array.from({ length: WAVE }, (_, k) => oneConnection(port, i + k)));
  }
}

test('churn: 1,500 connections come and go, the server keeps no memory or descriptor for them', T, async () => {
  const server = await AttackServer.start({ own: { perMessageDeflate: true } });
  try {
    const port = server.port('own');
    await churn(port, 0, 1500);
    await server.until((c) => c.own!.open === 0);
    const before = await server.memory();
    await churn(port, 1500, 1500);
    await server.until((c) => c.own!.open === 0 && c.own!.accepted === 3000);
    const after = await server.memory();
    const growth = held(after) - held(before);
    console.log(`# churn: ${growth} bytes after 1,500 connections (heap ${after.heapUsed - before.heapUsed}, external ${after.external - before.external})`);
    assert.ok(growth < 512 * KiB, `server holds ${growth} bytes more after 1,500 connections came and went`);
    assert.ok(after.fds <= before.fds, `fds ${before.fds} -> ${after.fds}`);
    assert.equal(after.own!.closeCodes['1000'], 2700);
    assert.equal(after.own!.closeCodes['1006'], 300);
    await probe(port);
  } finally {
    await server.stop();
  }
});
