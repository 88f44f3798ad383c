// Autobahn 9.x: limits and performance. Large messages (one frame, many
// frames, many small socket writes) and many round trips are echoed intact;
// payloads are compared by sha256. Plus the maxPayload limit (1009), which
// must act on the announced length, before the payload is read.
import assert from 'node:assert/strict';
import { Opcode, concatFrames, hex, pseudoRandomBytes, serverCase, utf8Text, type Case } from './server-harness.js';
import type { FrameSpec } from '../support/raw-socket.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BIG = { timeout: 60_000 };

function payloadFor(opcode: number, size: number): Buffer {
  return opcode === Opcode.TEXT ? utf8Text(size) : pseudoRandomBytes(size, size);
}

async function expectEcho(c: Case, opcode: number, payload: Buffer): Promise<void> {
  await c.expectFrame(opcode, payload);
  await c.closeHandshake();
}

/** One message as frames of `frameSize` bytes. */
function fragments(opcode: number, payload: Buffer, frameSize: number): FrameSpec[] {
  const frames: FrameSpec[] = [];
  for (let i = 0; i < payload.length; i += frameSize) {
    frames.push({ opcode: i === 0 ? opcode : Opcode.CONTINUATION, payload: payload.subarray(i, i + frameSize), fin: i + frameSize >= payload.length });
  }
  return frames;
}

const name = (size: number): string => (size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`);

// ---- 9.1 / 9.2 one large frame

const SINGLE = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB];
for (const [group, opcode, kind] of [
  ['9.1', Opcode.TEXT, 'text'],
  ['9.2', Opcode.BINARY, 'binary'],
] as const) {
  SINGLE.forEach((size, i) => {
    serverCase(`${group}.${i + 1} ${kind} message of ${name(size)} in one frame -> echoed`, async (c) => {
      const payload = payloadFor(opcode, size);
      await c.send({ opcode, payload });
      await expectEcho(c, opcode, payload);
    }, BIG);
  });
}

// ---- 9.3 / 9.4 a 4 MiB message in frames of various sizes

const FRAME_SIZES: Array<[number, number]> = [64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB].map((size, i) => [i + 1, size]);
for (const [group, opcode, kind] of [
  ['9.3', Opcode.TEXT, 'text'],
  ['9.4', Opcode.BINARY, 'binary'],
] as const) {
  for (const [n, frameSize] of FRAME_SIZES) {
    serverCase(`${group}.${n} ${kind} message of 4 MiB in frames of ${frameSize < KiB ? `${frameSize} B` : name(frameSize)} -> echoed`, async (c) => {
      const payload = payloadFor(opcode, 4 * MiB);
      await c.sendTogether(fragments(opcode, payload, frameSize));
      await expectEcho(c, opcode, payload);
    }, BIG);
  }
  for (const frameSize of [4 * KiB, 64 * KiB]) {
    serverCase(`${group}.x ${kind} message of 16 MiB in frames of ${name(frameSize)} -> echoed`, async (c) => {
      const payload = payloadFor(opcode, 16 * MiB);
      await c.sendTogether(fragments(opcode, payload, frameSize));
      await expectEcho(c, opcode, payload);
    }, BIG);
  }
}

// ---- 9.5 / 9.6 a 1 MiB message (one frame) in socket writes of various sizes

for (const [group, opcode, kind] of [
  ['9.5', Opcode.TEXT, 'text'],
  ['9.6', Opcode.BINARY, 'binary'],
] as const) {
  for (const [n, chop] of [64, 128, 256, 512, 1024, 2048].map((size, i) => [i + 1, size] as const)) {
    serverCase(`${group}.${n} ${kind} message of 1 MiB sent in ${chop}-byte writes -> echoed`, async (c) => {
      const payload = payloadFor(opcode, MiB);
      await c.writeChopped(concatFrames([{ opcode, payload }]), chop);
      await expectEcho(c, opcode, payload);
    }, BIG);
  }
  serverCase(`${group}.x ${kind} message of 16 MiB sent in 4096-byte writes -> echoed`, async (c) => {
    const payload = payloadFor(opcode, 16 * MiB);
    await c.writeChopped(concatFrames([{ opcode, payload }]), 4096);
    await expectEcho(c, opcode, payload);
  }, BIG);
}

// ---- 9.7 / 9.8 1000 round trips

const ROUND_TRIP_SIZES = [0, 16, 64, 256, KiB, 4 * KiB];
for (const [group, opcode, kind] of [
  ['9.7', Opcode.TEXT, 'text'],
  ['9.8', Opcode.BINARY, 'binary'],
] as const) {
  ROUND_TRIP_SIZES.forEach((size, i) => {
    serverCase(`${group}.${i + 1} 1000 ${kind} messages of ${size} bytes, each awaiting its echo`, async (c) => {
      const payload = payloadFor(opcode, size);
      for (let k = 0; k < 1000; k++) {
        await c.send({ opcode, payload });
        await c.expectFrame(opcode, payload);
      }
      await c.closeHandshake();
    }, BIG);
  });
}

serverCase('9.x 1000 pipelined binary messages in one write -> 1000 echoes in order', async (c) => {
  const messages = Array.from({ length: 1000 }, (_, k) => pseudoRandomBytes(k % 300, k + 1));
  await c.sendTogether(messages.map((payload) => ({ opcode: Opcode.BINARY, payload })));
  for (const m of messages) await c.expectBinary(m);
  await c.closeHandshake();
});

// ---- maxPayload

const LIMIT = { server: { maxPayload: 1024 } };

serverCase('9.x maxPayload 1024: a 1024-byte message -> echoed', async (c) => {
  const payload = pseudoRandomBytes(1024);
  await c.send({ opcode: Opcode.BINARY, payload });
  await expectEcho(c, Opcode.BINARY, payload);
}, LIMIT);

serverCase('9.x maxPayload 1024: a 1025-byte message -> 1009', async (c) => {
  await c.send({ opcode: Opcode.BINARY, payload: pseudoRandomBytes(1025) });
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
}, LIMIT);

serverCase('9.x maxPayload 1024: a 1025-byte text header alone -> 1009 before the payload is sent', async (c) => {
  await c.write(hex('81 fe 04 01 37 fa 21 3d'));
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
}, LIMIT);

serverCase('9.x maxPayload 1024: fragments of 600 + 600 bytes -> 1009 on the second header, before its payload', async (c) => {
  await c.send({ opcode: Opcode.BINARY, payload: pseudoRandomBytes(600), fin: false });
  await c.write(hex('80 fe 02 58 37 fa 21 3d')); // continuation, FIN, 600 bytes announced, none sent
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
}, LIMIT);

serverCase('9.x maxPayload 1024: 1024 bytes in 1024 one-byte fragments -> echoed; one more fragment would not be', async (c) => {
  const payload = pseudoRandomBytes(1024, 7);
  await c.sendTogether(fragments(Opcode.BINARY, payload, 1));
  await c.expectBinary(payload);
  await c.closeHandshake();
}, LIMIT);

serverCase('9.x maxPayload 1024: a header announcing 2^32 bytes -> 1009 before any payload is sent', async (c) => {
  await c.write(hex('82 ff 00 00 00 01 00 00 00 00 37 fa 21 3d'));
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
}, LIMIT);

serverCase('9.x default maxPayload (100 MiB): a header announcing 2^32 bytes -> 1009 before any payload is sent', async (c) => {
  await c.write(hex('82 ff 00 00 00 01 00 00 00 00 37 fa 21 3d'));
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
});

serverCase('9.x default maxPayload: a header announcing 100 MiB + 1 -> 1009 before any payload is sent', async (c) => {
  const head = Buffer.from(hex('82 ff 00 00 00 00 00 00 00 00 37 fa 21 3d'));
  head.writeUInt32BE(100 * MiB + 1, 6);
  await c.write(head);
  await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
});

serverCase('9.x a 64-bit length with the most significant bit set -> 1002', async (c) => {
  await c.write(hex('82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d'));
  await c.expectFailure(1002, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH');
});

serverCase('9.x a length not minimally encoded (16-bit form for 5 bytes) -> 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'Hello', lengthBits: 16 });
  await c.expectFailure(1002, 'WS_ERR_NON_MINIMAL_LENGTH');
});

serverCase('9.x a length not minimally encoded (64-bit form for 200 bytes) -> 1002', async (c) => {
  await c.send({ opcode: Opcode.BINARY, payload: Buffer.alloc(200), lengthBits: 64 });
  await c.expectFailure(1002, 'WS_ERR_NON_MINIMAL_LENGTH');
});

serverCase('9.x maxPayload 0 (no limit) accepts a 2 MiB message', async (c) => {
  const payload = pseudoRandomBytes(2 * MiB, 3);
  await c.send({ opcode: Opcode.BINARY, payload });
  await expectEcho(c, Opcode.BINARY, payload);
}, { server: { maxPayload: 0 } });

serverCase('9.x invalid UTF-8 in the first bytes of a 16 MiB text frame -> 1007 while the upload goes on; clean shutdown', async (c) => {
  const payload = utf8Text(16 * MiB);
  payload[100] = 0xff;
  // Not awaited: the Close must arrive while we are still writing.
  const upload = c.send({ opcode: Opcode.TEXT, payload }).catch((err: Error) => err);
  await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
  const result = await upload;
  // The server reads and discards the rest (no RST): the write completes.
  assert.equal(result, undefined);
}, BIG);
