// Client side, Autobahn categories 1-6 and 9 mirrored: a raw server sends
// hand-made unmasked frames to our client; the client's own frames must be
// masked; protocol violations make it fail with the right close code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from '../../src/node/index.js';
import { Opcode, caseName, clientCase, clientOptionsFor, currentTransport, startPeerServer, type ClientCase } from './client-harness.js';
import { acceptKey, encodeFrame } from '../support/raw-socket.js';
import { hex, pseudoRandomBytes, sha256 } from '../support/bytes.js';

async function finish(c: ClientCase): Promise<void> {
  await c.serverCloses(1000);
}

// ---- 1.x framing: messages from the server

const SIZES = [0, 125, 126, 127, 128, 65535, 65536];
SIZES.forEach((size, i) => {
  clientCase(`C1.1.${i + 1} text message of ${size} bytes -> 'message' (text)`, async (c) => {
    const payload = Buffer.alloc(size, '*');
    await c.send({ opcode: Opcode.TEXT, payload });
    await c.expectMessage(payload, false);
    await finish(c);
  });
  clientCase(`C1.2.${i + 1} binary message of ${size} bytes -> 'message' (binary)`, async (c) => {
    const payload = pseudoRandomBytes(size, size + 1);
    await c.send({ opcode: Opcode.BINARY, payload });
    await c.expectMessage(payload, true);
    await finish(c);
  });
});

clientCase('C1.x a 65536-byte message sent in 997-byte writes -> one message', async (c) => {
  const payload = pseudoRandomBytes(65536, 9);
  const bytes = encodeFrame({ opcode: Opcode.BINARY, payload, mask: false });
  for (let i = 0; i < bytes.length; i += 997) await c.peer.write(bytes.subarray(i, i + 997));
  await c.expectMessage(payload, true);
  await finish(c);
});

// ---- our client's frames are masked

clientCase('C1.x client text and binary frames are masked, with minimal lengths', async (c) => {
  c.ws.send('Hello');
  await c.expectFrame(Opcode.TEXT, 'Hello');
  const big = pseudoRandomBytes(70000, 3);
  c.ws.send(big);
  const frame = await c.peer.readFrame();
  assert.deepEqual(
    { fin: frame.fin, opcode: frame.opcode, masked: frame.masked, length: frame.payload.length },
    { fin: true, opcode: Opcode.BINARY, masked: true, length: 70000 },
  );
  assert.equal(sha256(frame.payload), sha256(big));
  c.ws.send(Buffer.alloc(200, 1));
  await c.expectFrame(Opcode.BINARY, Buffer.alloc(200, 1));
  c.ws.ping('p');
  await c.expectFrame(Opcode.PING, 'p');
  await finish(c);
});

clientCase('C1.x masked frames use a fresh key each (100 frames, not all the same key)', async (c) => {
  const keys = new Set<string>();
  for (let i = 0; i < 100; i++) c.ws.send('x');
  for (let i = 0; i < 100; i++) keys.add((await c.expectFrame(Opcode.TEXT, 'x')).mask!.toString('hex'));
  // 100 crypto-random keys colliding into one is a 2^-3168 event.
  assert.ok(keys.size > 1, `mask keys: ${[...keys].join(',')}`);
  await finish(c);
});

clientCase('C1.x a masked frame from the server -> 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'Hello', mask: hex('01020304') });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_MASK');
  assert.deepEqual(c.events.log.filter((l) => l.startsWith('message')), []);
});

// ---- 2.x ping/pong

clientCase('C2.1 ping without payload -> masked pong without payload; "ping" event', async (c) => {
  await c.send({ opcode: Opcode.PING });
  await c.expectFrame(Opcode.PONG, '');
  assert.ok(c.events.log.includes('ping:'));
  await finish(c);
});

clientCase('C2.4 ping with 125-byte payload -> masked pong with the same payload', async (c) => {
  const payload = pseudoRandomBytes(125, 4);
  await c.send({ opcode: Opcode.PING, payload });
  await c.expectFrame(Opcode.PONG, payload);
  await finish(c);
});

clientCase('C2.5 ping with 126-byte payload -> 1002', async (c) => {
  await c.send({ opcode: Opcode.PING, payload: Buffer.alloc(126) });
  await c.expectFailure(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
});

clientCase('C2.8 unsolicited pong -> "pong" event, nothing sent', async (c) => {
  await c.send({ opcode: Opcode.PONG, payload: 'unsolicited' });
  await c.send({ opcode: Opcode.TEXT, payload: 'after' });
  await c.expectMessage('after', false);
  assert.deepEqual(c.events.log, ['open', `pong:${Buffer.from('unsolicited').toString('hex')}`, 'message:text:after']);
  await finish(c); // the next client frame must be the Close reply: no pong was sent
});

clientCase('C2.10 10 pings -> 10 masked pongs in order', async (c) => {
  for (let i = 0; i < 10; i++) await c.send({ opcode: Opcode.PING, payload: `payload-${i}` });
  for (let i = 0; i < 10; i++) await c.expectFrame(Opcode.PONG, `payload-${i}`);
  await finish(c);
});

// ---- 3.x reserved bits, 4.x reserved opcodes

for (const rsv of [4, 2, 1]) {
  clientCase(`C3.x text frame with RSV = ${rsv} -> 1002`, async (c) => {
    await c.send({ opcode: Opcode.TEXT, payload: 'Hello', rsv });
    await c.expectFailure(1002, rsv === 4 ? 'WS_ERR_UNEXPECTED_RSV_1' : 'WS_ERR_UNEXPECTED_RSV_2_3');
  });
}

clientCase('C3.2 text, then text with RSV = 2 -> message delivered, then 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'first' });
  await c.send({ opcode: Opcode.TEXT, payload: 'second', rsv: 2 });
  await c.expectMessage('first', false);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
  assert.deepEqual(c.events.log.filter((l) => l.startsWith('message')), ['message:text:first']);
});

for (const opcode of [3, 7, 11, 15]) {
  clientCase(`C4.x frame with reserved opcode ${opcode} -> 1002`, async (c) => {
    await c.send({ opcode, payload: 'x' });
    await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
  });
}

// ---- 5.x fragmentation

clientCase('C5.1 ping in 2 fragments -> 1002', async (c) => {
  await c.send({ opcode: Opcode.PING, payload: 'frag1', fin: false });
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_FIN');
});

clientCase('C5.6 text in 3 fragments with 2 pings in between -> 2 masked pongs, then one message', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'frag1', fin: false });
  await c.send({ opcode: Opcode.PING, payload: 'ping-1' });
  await c.expectFrame(Opcode.PONG, 'ping-1'); // answered while the message is still open
  await c.send({ opcode: Opcode.CONTINUATION, payload: 'frag2', fin: false });
  await c.send({ opcode: Opcode.PING, payload: 'ping-2' });
  await c.expectFrame(Opcode.PONG, 'ping-2');
  await c.send({ opcode: Opcode.CONTINUATION, payload: 'frag3' });
  await c.expectMessage('frag1frag2frag3', false);
  assert.deepEqual(c.events.log, [
    'open',
    `ping:${Buffer.from('ping-1').toString('hex')}`,
    `ping:${Buffer.from('ping-2').toString('hex')}`,
    'message:text:frag1frag2frag3',
  ]);
  await finish(c);
});

clientCase('C5.x binary in 1000 fragments -> one binary message', async (c) => {
  const payload = pseudoRandomBytes(10_000, 5);
  const frames: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    frames.push(encodeFrame({ opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: payload.subarray(i * 10, i * 10 + 10), fin: i === 999, mask: false }));
  }
  await c.peer.write(Buffer.concat(frames));
  await c.expectMessage(payload, true);
  await finish(c);
});

clientCase('C5.9 continuation with nothing to continue -> 1002', async (c) => {
  await c.send({ opcode: Opcode.CONTINUATION, payload: 'cont' });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

clientCase('C5.18 text in 2 fragments, both with opcode text -> 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'frag1', fin: false });
  await c.send({ opcode: Opcode.TEXT, payload: 'frag2' });
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_CONTINUATION');
});

// ---- 6.x UTF-8

const KOSME = hex('cebae1bdb9cf83cebcceb5');

clientCase('C6.2.4 "κόσμε" fragmented one octet per frame -> one text message', async (c) => {
  for (let i = 0; i < KOSME.length; i++) {
    await c.send({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: KOSME.subarray(i, i + 1), fin: i === KOSME.length - 1 });
  }
  await c.expectMessage(KOSME, false);
  await finish(c);
});

for (const [id, h] of [
  ['C6.3.1', 'cebae1bdb9cf83cebcceb5eda080656469746564'],
  ['C6.11.5', 'f4908080'],
  ['C6.17.1', 'c0af'],
  ['C6.16.1', 'fe'],
  ['C6.14.7', 'efbf'],
] as const) {
  clientCase(`${id} invalid UTF-8 [${h}] in a text message -> 1007`, async (c) => {
    await c.send({ opcode: Opcode.TEXT, payload: hex(h) });
    await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
  });
}

clientCase('C6.4.2 fail fast: "κόσμε" F4 | 90 without FIN -> 1007 before the message could end', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: Buffer.concat([KOSME, hex('f4')]), fin: false });
  await c.send({ opcode: Opcode.CONTINUATION, payload: hex('90'), fin: false });
  await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
});

clientCase('C6.x invalid UTF-8 in a binary message is delivered as is', async (c) => {
  await c.send({ opcode: Opcode.BINARY, payload: hex('c0af fe ff') });
  await c.expectMessage(hex('c0affeff'), true);
  await finish(c);
});

// ---- 9.x large messages and maxPayload

for (const [kind, opcode] of [
  ['binary', Opcode.BINARY],
  ['text', Opcode.TEXT],
] as const) {
  clientCase(`C9.x ${kind} message of 16 MiB from the server -> delivered intact`, async (c) => {
    const size = 16 * 1024 * 1024;
    const payload = opcode === Opcode.TEXT ? Buffer.alloc(size, 'κόσμε-') : pseudoRandomBytes(size, 16);
    if (opcode === Opcode.TEXT) payload.subarray(size - 16).fill('z'); // end on a code point boundary
    await c.send({ opcode, payload });
    const m = await c.events.nextMessage();
    assert.equal(m.isBinary, opcode === Opcode.BINARY);
    assert.equal(m.data.length, size);
    assert.equal(sha256(m.data), sha256(payload));
    await finish(c);
  }, { timeout: 60_000 });
}

clientCase('C9.x client maxPayload 1024: 1024 bytes delivered, then 1025 bytes -> 1009', async (c) => {
  await c.send({ opcode: Opcode.BINARY, payload: Buffer.alloc(1024, 1) });
  await c.expectMessage(Buffer.alloc(1024, 1), true);
  await c.send({ opcode: Opcode.BINARY, payload: Buffer.alloc(1025, 2) });
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
}, { client: { maxPayload: 1024 } });

clientCase('C9.x client maxPayload 1024: fragments of 600 + 600 -> 1009 on the second header', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: Buffer.alloc(600, 'a'), fin: false });
  await c.peer.write(hex('80 7e 02 58')); // continuation header announcing 600 bytes, no payload
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
}, { client: { maxPayload: 1024 } });

clientCase('C9.x a header announcing 2^32 bytes -> 1009 before any payload', async (c) => {
  await c.peer.write(hex('82 7f 00 00 00 01 00 00 00 00'));
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
});

// Over HTTP/2 the response's HEADERS and the first DATA leave in one write
// (respond() and write() in the same tick), the counterpart of frames in the
// 101's packet.
const sameWriteAs = currentTransport() === 'h2' ? 'the :status 200 HEADERS' : 'the 101 response';
test(caseName(`C1.x frames in the same packet as ${sameWriteAs} -> delivered after "open"`), { timeout: 20_000 }, async (t) => {
  const early = Buffer.concat([
    encodeFrame({ opcode: Opcode.TEXT, payload: 'early', mask: false }),
    encodeFrame({ opcode: Opcode.PING, payload: 'p', mask: false }),
  ]);
  const server = await startPeerServer(async (peer) => {
    const req = await peer.readHttpHead();
    if (req.httpVersion === '2.0') {
      void peer.acceptUpgrade();
      await peer.write(early);
    } else {
      await peer.write(
        Buffer.concat([
          Buffer.from(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${acceptKey(req.headers['sec-websocket-key']!)}\r\n\r\n`,
          ),
          early,
        ]),
      );
    }
    await peer.readFrame().then((f) => {
      assert.deepEqual({ opcode: f.opcode, masked: f.masked, payload: f.payload.toString() }, { opcode: Opcode.PONG, masked: true, payload: 'p' });
    });
    await peer.write(encodeFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]), mask: false }));
    await peer.readFrame();
    peer.end();
  });
  const ws = new WebSocket(server.url, clientOptionsFor({}));
  t.signal.addEventListener('abort', () => ws.terminate());
  try {
    const log: string[] = [];
    ws.on('open', () => log.push('open'));
    ws.on('message', (d: Buffer, isBinary: boolean) => log.push(`message:${isBinary}:${d.toString()}`));
    ws.on('ping', (d: Buffer) => log.push(`ping:${d.toString()}`));
    const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
    assert.equal(await closed, 1000);
    await server.idle();
    assert.deepEqual(server.errors, []);
    assert.deepEqual(log, ['open', 'message:false:early', 'ping:p']);
  } finally {
    ws.terminate();
    await server.close();
  }
});
