import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_MASK,
  Opcode,
  SAMPLE_KEY,
  acceptKey,
  closePayload,
  connectRaw,
  encodeFrame,
  handshakeRaw,
  parseClosePayload,
  startRawServer,
  upgradeRequest,
  type Frame,
} from '../support/raw-socket.js';

const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 200_000];

test('acceptKey matches the RFC 6455 example', () => {
  assert.equal(acceptKey(SAMPLE_KEY), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('encodeFrame: header bytes for 7/16/64-bit lengths, masking', () => {
  const small = encodeFrame({ opcode: Opcode.TEXT, payload: 'Hello', mask: false });
  assert.deepEqual(small, Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
  // RFC 6455 5.7 masked "Hello".
  const masked = encodeFrame({ opcode: Opcode.TEXT, payload: 'Hello', mask: Buffer.from([0x37, 0xfa, 0x21, 0x3d]) });
  assert.deepEqual(masked, Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
  assert.deepEqual(encodeFrame({ opcode: Opcode.TEXT, payload: 'Hello' }), masked, 'default mask');
  assert.deepEqual(DEFAULT_MASK, Buffer.from([0x37, 0xfa, 0x21, 0x3d]));
  const f126 = encodeFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(256), mask: false });
  assert.deepEqual(f126.subarray(0, 4), Buffer.from([0x82, 0x7e, 0x01, 0x00]));
  assert.equal(f126.length, 4 + 256);
  const f127 = encodeFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(65536), mask: false });
  assert.deepEqual(f127.subarray(0, 10), Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]));
  const forced = encodeFrame({ opcode: Opcode.PING, payload: 'x', mask: false, lengthBits: 64, fin: false, rsv: 4 });
  assert.deepEqual(forced, Buffer.from([0x49, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 0x78]));
  assert.deepEqual(parseClosePayload(closePayload(4001, 'bye')), { code: 4001, reason: 'bye' });
  assert.deepEqual(parseClosePayload(closePayload()), { code: undefined, reason: '' });
});

test('upgradeRequest: defaults, overrides and removals', () => {
  const req = upgradeRequest('/chat?x=1', { 'sec-websocket-version': '8', Connection: null, 'X-Extra': 'yes' });
  assert.match(req, /^GET \/chat\?x=1 HTTP\/1\.1\r\n/);
  assert.match(req, /\r\nsec-websocket-version: 8\r\n/);
  assert.doesNotMatch(req, /Connection:/i);
  assert.match(req, /\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n/);
  assert.match(req, /\r\nX-Extra: yes\r\n\r\n$/);
});

test('raw client <-> raw server: handshake and frame round trips', { timeout: 30_000 }, async () => {
  const serverFrames: Frame[] = [];
  const server = await startRawServer(async (peer) => {
    const req = await peer.acceptUpgrade({ 'Sec-WebSocket-Protocol': 'chat' });
    assert.equal(req.method, 'GET');
    assert.equal(req.path, '/echo');
    assert.equal(req.headers['upgrade'], 'websocket');
    for (;;) {
      const frame = await peer.readFrame();
      serverFrames.push(frame);
      if (frame.opcode === Opcode.CLOSE) {
        await peer.sendFrame({ opcode: Opcode.CLOSE, payload: frame.payload });
        peer.end();
        return;
      }
      // Echo back unmasked (server -> client), and a masked copy to test client-side unmasking.
      await peer.sendFrame({ opcode: frame.opcode, payload: frame.payload });
      await peer.sendFrame({ opcode: frame.opcode, payload: frame.payload, mask: randomBytes(4) });
    }
  });
  const client = await handshakeRaw(server.port, '/echo');
  try {
    assert.equal(client.response?.status, 101);
    assert.equal(client.response?.headers['sec-websocket-accept'], acceptKey(SAMPLE_KEY));
    assert.equal(client.response?.headers['sec-websocket-protocol'], 'chat');
    for (const size of SIZES) {
      const payload = randomBytes(size);
      // Alternate masked (default key / random key) client frames.
      await client.sendFrame({ opcode: Opcode.BINARY, payload, mask: size % 2 ? randomBytes(4) : undefined });
      const plain = await client.readFrame();
      assert.equal(plain.masked, false);
      assert.equal(plain.fin, true);
      assert.equal(plain.opcode, Opcode.BINARY);
      assert.ok(plain.payload.equals(payload), `unmasked echo of ${size} bytes`);
      const masked = await client.readFrame();
      assert.equal(masked.masked, true);
      assert.equal(masked.mask?.length, 4);
      assert.ok(masked.payload.equals(payload), `masked echo of ${size} bytes`);
    }
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000, 'bye') });
    const close = await client.readFrame();
    assert.equal(close.opcode, Opcode.CLOSE);
    assert.deepEqual(parseClosePayload(close.payload), { code: 1000, reason: 'bye' });
    await client.waitForEnd();
    assert.equal(client.ended, true);
    assert.equal(client.buffered, 0);
    await server.idle();
    assert.deepEqual(server.errors, []);
    assert.equal(serverFrames.length, SIZES.length + 1);
    assert.ok(serverFrames.every((f) => f.masked), 'client frames are masked');
    for (const [i, size] of SIZES.entries()) assert.equal(serverFrames[i]!.payload.length, size);
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('handshakeRaw rejects a non-101 response; readHttpHead leaves the body buffered', { timeout: 30_000 }, async () => {
  const server = await startRawServer(async (peer) => {
    await peer.readHttpHead();
    await peer.respond(403, 'Forbidden', { 'Content-Type': 'text/plain' }, 'nope');
    peer.end();
  });
  try {
    await assert.rejects(handshakeRaw(server.port), /expected HTTP 101, got 403/);
    const client = await connectRaw(server.port);
    try {
      await client.write(upgradeRequest('/'));
      const head = await client.readHttpHead();
      assert.equal(head.status, 403);
      assert.equal(head.statusText, 'Forbidden');
      assert.equal(head.headers['content-length'], '4');
      assert.equal((await client.readUntilEnd()).toString(), 'nope');
      await assert.rejects(client.read(1), /connection ended/);
    } finally {
      await client.destroy();
    }
    await server.idle();
    assert.deepEqual(server.errors, []);
  } finally {
    await server.close();
  }
});

test('raw server close() destroys accepted sockets and settles waiting handlers', { timeout: 30_000 }, async () => {
  let handlerSawEnd = false;
  const server = await startRawServer(async (peer) => {
    await peer.acceptUpgrade();
    try {
      await peer.readFrame(); // never arrives
    } catch {
      handlerSawEnd = true;
    }
  });
  const client = await handshakeRaw(server.port);
  await server.close();
  await client.waitForEnd();
  await server.idle();
  assert.equal(handlerSawEnd, true);
  await client.destroy();
});
