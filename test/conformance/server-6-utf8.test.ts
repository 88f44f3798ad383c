// Autobahn 6.x: UTF-8 handling (RFC 6455 8.1, RFC 3629). Valid text is
// echoed byte for byte; invalid text fails the connection with 1007, and
// fails it FAST: as soon as the received bytes cannot be the prefix of valid
// UTF-8, without waiting for the rest of the frame or message.
//
// Each sequence runs twice: as one frame, and fragmented one octet per frame
// (splitting every multi-byte sequence, 6.2.x style). In the fragmented form
// an invalid sequence is sent only up to the first offending byte, without
// FIN: the Close must come before the message could ever end. The offending
// position comes from the WHATWG decoder (TextDecoder, fatal, streaming),
// an implementation independent of ours.
import assert from 'node:assert/strict';
import { Opcode, concatFrames, encodeFrame, hex, serverCase, type Case } from './server-harness.js';
import type { FrameSpec } from '../support/raw-socket.js';

/** Index of the first byte at which `bytes` stops being a UTF-8 prefix; length if only the end is bad; -1 if valid. */
function firstInvalidByte(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  try {
    decoder.decode();
  } catch {
    return bytes.length;
  }
  return -1;
}

/**
 * Frames carrying `bytes` one octet each (the first is a text frame). The
 * last has FIN, unless `upTo` stops early: then no frame has FIN.
 */
function octetFrames(bytes: Buffer, upTo?: number): FrameSpec[] {
  const frames: FrameSpec[] = [];
  const last = upTo ?? bytes.length - 1;
  for (let i = 0; i <= last; i++) {
    frames.push({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: bytes.subarray(i, i + 1), fin: upTo === undefined && i === last });
  }
  return frames;
}

async function expectInvalid(c: Case): Promise<void> {
  await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
}

/** Registers the one-frame and octet-fragmented cases for one sequence. */
function utf8Case(id: string, label: string, bytes: Buffer, valid: boolean): void {
  const failAt = firstInvalidByte(bytes);
  // Guard against typos in the table: the reference decoder must agree.
  assert.equal(failAt === -1, valid, `${id}: table says ${valid ? 'valid' : 'invalid'} for ${bytes.toString('hex')}`);
  const desc = `${label} [${bytes.toString('hex')}]`;
  if (valid) {
    serverCase(`${id} valid ${desc} in one frame -> echoed`, async (c) => {
      await c.sendText(bytes);
      await c.expectText(bytes);
      await c.closeHandshake();
    });
    serverCase(`${id} valid ${desc} fragmented per octet -> echoed`, async (c) => {
      await c.sendTogether(bytes.length === 0 ? [{ opcode: Opcode.TEXT }] : octetFrames(bytes));
      await c.expectText(bytes);
      await c.closeHandshake();
    });
    return;
  }
  serverCase(`${id} invalid ${desc} in one frame -> 1007`, async (c) => {
    await c.sendText(bytes);
    await expectInvalid(c);
  });
  if (failAt < bytes.length) {
    serverCase(`${id} invalid ${desc} fragmented per octet -> 1007 fail-fast at octet ${failAt}, before FIN`, async (c) => {
      const frames = octetFrames(bytes, failAt);
      assert.equal(frames.at(-1)!.fin, false);
      await c.sendTogether(frames);
      await expectInvalid(c);
    });
  } else {
    serverCase(`${id} invalid ${desc} fragmented per octet -> 1007 (truncated at the end)`, async (c) => {
      await c.sendTogether(octetFrames(bytes));
      await expectInvalid(c);
    });
  }
}

// ---- 6.1 empty payloads

serverCase('6.1.1 empty text message -> echoed', async (c) => {
  await c.sendText('');
  await c.expectText('');
  await c.closeHandshake();
});

serverCase('6.1.2 text message of 3 empty fragments -> echoed empty', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, fin: false },
    { opcode: Opcode.CONTINUATION, fin: false },
    { opcode: Opcode.CONTINUATION },
  ]);
  await c.expectText('');
  await c.closeHandshake();
});

serverCase('6.1.3 text fragments: empty, "middle frame payload", empty -> echoed', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, fin: false },
    { opcode: Opcode.CONTINUATION, payload: 'middle frame payload', fin: false },
    { opcode: Opcode.CONTINUATION },
  ]);
  await c.expectText('middle frame payload');
  await c.closeHandshake();
});

// ---- 6.2 valid multi-byte text, split on and inside code points

const HELLO = 'Hello-µ@ßöäüàá-UTF-8!!';
const KOSME = hex('ce ba e1 bd b9 cf 83 ce bc ce b5'); // κόσμε

serverCase(`6.2.1 valid "${HELLO}" in one frame -> echoed`, async (c) => {
  await c.sendText(HELLO);
  await c.expectText(HELLO);
  await c.closeHandshake();
});

serverCase(`6.2.2 valid "${HELLO}" fragmented on code point boundaries -> echoed`, async (c) => {
  const chars = [...HELLO];
  await c.sendTogether(chars.map((ch, i) => ({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: ch, fin: i === chars.length - 1 })));
  await c.expectText(HELLO);
  await c.closeHandshake();
});

serverCase(`6.2.3 valid "${HELLO}" fragmented one octet per frame -> echoed`, async (c) => {
  await c.sendTogether(octetFrames(Buffer.from(HELLO)));
  await c.expectText(HELLO);
  await c.closeHandshake();
});

serverCase('6.2.4 valid "κόσμε" fragmented one octet per frame -> echoed', async (c) => {
  await c.sendTogether(octetFrames(KOSME));
  await c.expectText(KOSME);
  await c.closeHandshake();
});

serverCase('6.2.x valid "κόσμε" in one frame sent in octet-wise chops -> echoed', async (c) => {
  await c.writeChopped(concatFrames([{ opcode: Opcode.TEXT, payload: KOSME }]), 1);
  await c.expectText(KOSME);
  await c.closeHandshake();
});

// ---- 6.3 invalid text

const KOSME_BROKEN = hex('ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64'); // κόσμε + surrogate + "edited"

serverCase('6.3.1 invalid "κόσμε" + ED A0 80 + "edited" in one frame -> 1007', async (c) => {
  await c.sendText(KOSME_BROKEN);
  await expectInvalid(c);
});

serverCase('6.3.2 invalid "κόσμε" + ED A0 80 + "edited" fragmented one octet per frame -> 1007', async (c) => {
  await c.sendTogether(octetFrames(KOSME_BROKEN));
  await expectInvalid(c);
});

// ---- 6.4 fail fast: the Close arrives before the rest is sent

/** The encoded frame for `payload`, cut at the given payload offsets. */
function framePieces(spec: FrameSpec, payloadCuts: number[]): Buffer[] {
  const frame = encodeFrame(spec);
  const payloadLength = typeof spec.payload === 'string' ? Buffer.byteLength(spec.payload) : spec.payload!.length;
  const headerLength = frame.length - payloadLength;
  const cuts = [0, ...payloadCuts.map((p) => headerLength + p), frame.length];
  return cuts.slice(1).map((end, i) => frame.subarray(cuts[i], end));
}

serverCase('6.4.1 fragments: "κόσμε" | F4 90 80 80 (invalid, no FIN) -> 1007 before "edited" is sent', async (c) => {
  await c.sendEach([
    { opcode: Opcode.TEXT, payload: KOSME, fin: false },
    { opcode: Opcode.CONTINUATION, payload: hex('f4 90 80 80'), fin: false },
  ]);
  await expectInvalid(c);
});

serverCase('6.4.2 fragments: "κόσμε" F4 | 90 (no FIN) -> 1007 before "80 80 edited" is sent', async (c) => {
  await c.sendEach([
    { opcode: Opcode.TEXT, payload: Buffer.concat([KOSME, hex('f4')]), fin: false },
    { opcode: Opcode.CONTINUATION, payload: hex('90'), fin: false },
  ]);
  await expectInvalid(c);
});

serverCase('6.4.3 one frame in chops: header+"κόσμε" | F4 90 80 80 -> 1007 before "edited" is sent', async (c) => {
  const payload = Buffer.concat([KOSME, hex('f4 90 80 80'), Buffer.from('edited')]);
  const [p1, p2, rest] = framePieces({ opcode: Opcode.TEXT, payload }, [KOSME.length, KOSME.length + 4]);
  await c.write(p1!);
  await c.write(p2!);
  assert.ok(rest!.length > 0);
  await expectInvalid(c);
});

serverCase('6.4.4 one frame in chops: header+"κόσμε" | F4 | 90 -> 1007 before "80 80 edited" is sent', async (c) => {
  const payload = Buffer.concat([KOSME, hex('f4 90 80 80'), Buffer.from('edited')]);
  const [p1, p2, p3, rest] = framePieces({ opcode: Opcode.TEXT, payload }, [KOSME.length, KOSME.length + 1, KOSME.length + 2]);
  await c.write(p1!);
  await c.write(p2!); // F4 alone is still a valid prefix
  await c.write(p3!);
  assert.ok(rest!.length > 0);
  await expectInvalid(c);
});

serverCase('6.4.x a long valid text then one bad byte, header announcing 64 KiB -> 1007 before the rest', async (c) => {
  const payload = Buffer.alloc(65536, 'a');
  payload[1000] = 0xff;
  const [p1, rest] = framePieces({ opcode: Opcode.TEXT, payload }, [1001]);
  await c.write(p1!);
  assert.equal(rest!.length, 65536 - 1001);
  await expectInvalid(c);
});

// ---- 6.5 - 6.23: sequences from Markus Kuhn's UTF-8 decoder stress test

type Row = [id: string, label: string, hex: string, valid: boolean];

const ROWS: Row[] = [
  ['6.5.1', 'κόσμε', 'cebae1bdb9cf83cebcceb5', true],
  // 6.6: κόσμε cut after every octet
  ['6.6.1', 'κόσμε cut 1', 'ce', false],
  ['6.6.2', 'κόσμε cut 2', 'ceba', true],
  ['6.6.3', 'κόσμε cut 3', 'cebae1', false],
  ['6.6.4', 'κόσμε cut 4', 'cebae1bd', false],
  ['6.6.5', 'κόσμε cut 5', 'cebae1bdb9', true],
  ['6.6.6', 'κόσμε cut 6', 'cebae1bdb9cf', false],
  ['6.6.7', 'κόσμε cut 7', 'cebae1bdb9cf83', true],
  ['6.6.8', 'κόσμε cut 8', 'cebae1bdb9cf83ce', false],
  ['6.6.9', 'κόσμε cut 9', 'cebae1bdb9cf83cebc', true],
  ['6.6.10', 'κόσμε cut 10', 'cebae1bdb9cf83cebcce', false],
  ['6.6.11', 'κόσμε cut 11', 'cebae1bdb9cf83cebcceb5', true],
  // 6.7: first possible sequence of each length
  ['6.7.1', 'U+0000', '00', true],
  ['6.7.2', 'U+0080', 'c280', true],
  ['6.7.3', 'U+0800', 'e0a080', true],
  ['6.7.4', 'U+10000', 'f0908080', true],
  // 6.8: 5- and 6-byte forms (not UTF-8 any more)
  ['6.8.1', '5-byte U+200000', 'f888808080', false],
  ['6.8.2', '6-byte U+4000000', 'fc8480808080', false],
  // 6.9: last possible sequence of each length
  ['6.9.1', 'U+007F', '7f', true],
  ['6.9.2', 'U+07FF', 'dfbf', true],
  ['6.9.3', 'U+FFFF', 'efbfbf', true],
  ['6.9.4', 'U+10FFFF (max)', 'f48fbfbf', true],
  // 6.10: beyond U+10FFFF
  ['6.10.1', 'U+1FFFFF', 'f7bfbfbf', false],
  ['6.10.2', 'U+3FFFFFF', 'fbbfbfbfbf', false],
  ['6.10.3', 'U+7FFFFFFF', 'fdbfbfbfbfbf', false],
  // 6.11: other boundaries
  ['6.11.1', 'U+D7FF', 'ed9fbf', true],
  ['6.11.2', 'U+E000', 'ee8080', true],
  ['6.11.3', 'U+FFFD', 'efbfbd', true],
  ['6.11.4', 'U+10FFFF', 'f48fbfbf', true],
  ['6.11.5', 'U+110000', 'f4908080', false],
  // 6.12: unexpected continuation bytes
  ['6.12.1', 'first continuation 0x80', '80', false],
  ['6.12.2', 'last continuation 0xBF', 'bf', false],
  ['6.12.3', '2 continuations', '80bf', false],
  ['6.12.4', '3 continuations', '80bf80', false],
  ['6.12.5', '4 continuations', '80bf80bf', false],
  ['6.12.6', '5 continuations', '80bf80bf80', false],
  ['6.12.7', '6 continuations', '80bf80bf80bf', false],
  ['6.12.8', 'all 64 continuation bytes', Array.from({ length: 64 }, (_, i) => (0x80 + i).toString(16)).join(''), false],
  // 6.13: lonely start bytes followed by a space
  ['6.13.1', 'lonely 2-byte starts', Array.from({ length: 32 }, (_, i) => (0xc0 + i).toString(16) + '20').join(''), false],
  ['6.13.2', 'lonely 3-byte starts', Array.from({ length: 16 }, (_, i) => (0xe0 + i).toString(16) + '20').join(''), false],
  ['6.13.3', 'lonely 4-byte starts', Array.from({ length: 8 }, (_, i) => (0xf0 + i).toString(16) + '20').join(''), false],
  ['6.13.4', 'lonely 5-byte starts', 'f820f920fa20fb20', false],
  ['6.13.5', 'lonely 6-byte starts', 'fc20fd20', false],
  // 6.14: sequences missing their last continuation byte
  ['6.14.1', '2-byte U+0000 truncated', 'c0', false],
  ['6.14.2', '3-byte U+0000 truncated', 'e080', false],
  ['6.14.3', '4-byte U+0000 truncated', 'f08080', false],
  ['6.14.4', '5-byte U+0000 truncated', 'f8808080', false],
  ['6.14.5', '6-byte U+0000 truncated', 'fc80808080', false],
  ['6.14.6', '2-byte U+07FF truncated', 'df', false],
  ['6.14.7', '3-byte U+FFFF truncated', 'efbf', false],
  ['6.14.8', '4-byte U+1FFFFF truncated', 'f7bfbf', false],
  ['6.14.9', '5-byte U+3FFFFFF truncated', 'fbbfbfbf', false],
  ['6.14.10', '6-byte U+7FFFFFFF truncated', 'fdbfbfbfbf', false],
  ['6.14.x', 'valid text ending in a truncated 4-byte sequence', '41f09f98', false],
  // 6.15: all of 6.14 concatenated
  ['6.15.1', 'concatenated truncated sequences', 'c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf', false],
  // 6.16: impossible bytes
  ['6.16.1', '0xFE', 'fe', false],
  ['6.16.2', '0xFF', 'ff', false],
  ['6.16.3', 'FE FE FF FF', 'fefeffff', false],
  // 6.17: overlong '/'
  ['6.17.1', 'overlong "/" 2 bytes', 'c0af', false],
  ['6.17.2', 'overlong "/" 3 bytes', 'e080af', false],
  ['6.17.3', 'overlong "/" 4 bytes', 'f08080af', false],
  ['6.17.4', 'overlong "/" 5 bytes', 'f8808080af', false],
  ['6.17.5', 'overlong "/" 6 bytes', 'fc80808080af', false],
  // 6.18: maximum overlong sequences
  ['6.18.1', 'max overlong 2 bytes (U+007F)', 'c1bf', false],
  ['6.18.2', 'max overlong 3 bytes (U+07FF)', 'e09fbf', false],
  ['6.18.3', 'max overlong 4 bytes (U+FFFF)', 'f08fbfbf', false],
  ['6.18.4', 'max overlong 5 bytes', 'f887bfbfbf', false],
  ['6.18.5', 'max overlong 6 bytes', 'fc83bfbfbfbf', false],
  // 6.19: overlong NUL
  ['6.19.1', 'overlong NUL 2 bytes', 'c080', false],
  ['6.19.2', 'overlong NUL 3 bytes', 'e08080', false],
  ['6.19.3', 'overlong NUL 4 bytes', 'f0808080', false],
  ['6.19.4', 'overlong NUL 5 bytes', 'f880808080', false],
  ['6.19.5', 'overlong NUL 6 bytes', 'fc8080808080', false],
  // 6.20: single UTF-16 surrogates
  ['6.20.1', 'surrogate U+D800', 'eda080', false],
  ['6.20.2', 'surrogate U+DB7F', 'edadbf', false],
  ['6.20.3', 'surrogate U+DB80', 'edae80', false],
  ['6.20.4', 'surrogate U+DBFF', 'edafbf', false],
  ['6.20.5', 'surrogate U+DC00', 'edb080', false],
  ['6.20.6', 'surrogate U+DF80', 'edbe80', false],
  ['6.20.7', 'surrogate U+DFFF', 'edbfbf', false],
  // 6.21: paired UTF-16 surrogates (CESU-8)
  ['6.21.1', 'surrogates U+D800 U+DC00', 'eda080edb080', false],
  ['6.21.2', 'surrogates U+D800 U+DFFF', 'eda080edbfbf', false],
  ['6.21.3', 'surrogates U+DB7F U+DC00', 'edadbfedb080', false],
  ['6.21.4', 'surrogates U+DB7F U+DFFF', 'edadbfedbfbf', false],
  ['6.21.5', 'surrogates U+DB80 U+DC00', 'edae80edb080', false],
  ['6.21.6', 'surrogates U+DB80 U+DFFF', 'edae80edbfbf', false],
  ['6.21.7', 'surrogates U+DBFF U+DC00', 'edafbfedb080', false],
  ['6.21.8', 'surrogates U+DBFF U+DFFF', 'edafbfedbfbf', false],
  // 6.22: noncharacters are valid UTF-8
  ['6.22.1', 'noncharacter U+FFFE', 'efbfbe', true],
  ['6.22.2', 'noncharacter U+FFFF', 'efbfbf', true],
  ['6.22.3', 'noncharacter U+1FFFE', 'f09fbfbe', true],
  ['6.22.4', 'noncharacter U+1FFFF', 'f09fbfbf', true],
  ['6.22.5', 'noncharacter U+2FFFE', 'f0afbfbe', true],
  ['6.22.6', 'noncharacter U+2FFFF', 'f0afbfbf', true],
  ['6.22.33', 'noncharacter U+10FFFE', 'f48fbfbe', true],
  ['6.22.34', 'noncharacter U+10FFFF', 'f48fbfbf', true],
  ['6.22.x', 'noncharacters U+FDD0 U+FDEF', 'efb790efb7af', true],
  // 6.23: specials
  ['6.23.1', 'U+FFF9', 'efbfb9', true],
  ['6.23.2', 'U+FFFA', 'efbfba', true],
  ['6.23.3', 'U+FFFB', 'efbfbb', true],
  ['6.23.4', 'U+FFFC', 'efbfbc', true],
  ['6.23.5', 'U+FFFD replacement character', 'efbfbd', true],
  ['6.23.6', 'U+FFFE', 'efbfbe', true],
  ['6.23.7', 'U+FFFF', 'efbfbf', true],
];

for (const [id, label, h, valid] of ROWS) utf8Case(id, label, hex(h), valid);

// ---- long texts: the validator's fast path (>= 16 bytes per piece) with sequences at piece edges

const ASCII40 = 'x'.repeat(40);
for (const [id, label, h, valid] of [
  ['6.x.1', '40 bytes of ASCII, U+10FFFF, more ASCII', 'f48fbfbf', true],
  ['6.x.2', '40 bytes of ASCII, U+110000, more ASCII', 'f4908080', false],
  ['6.x.3', '40 bytes of ASCII, a surrogate, more ASCII', 'eda080', false],
  ['6.x.4', '40 bytes of ASCII, an overlong, more ASCII', 'e080af', false],
  ['6.x.5', '40 bytes of ASCII, 0xFF, more ASCII', 'ff', false],
  ['6.x.6', '40 bytes of ASCII, a stray continuation, more ASCII', '80', false],
] as const) {
  utf8Case(id, label, Buffer.concat([Buffer.from(ASCII40), hex(h), Buffer.from('y'.repeat(20))]), valid);
}
utf8Case('6.x.7', '40 bytes of ASCII ending in a truncated 3-byte sequence', Buffer.concat([Buffer.from(ASCII40), hex('e282')]), false);

serverCase('6.x valid text split inside a sequence across frames of 20 bytes (fast path in every piece) -> echoed', async (c) => {
  const text = Buffer.from('aaaaaaaaaaaaaaaaaaa😀bbbbbbbbbbbbbbbbbκόσμεccccccccccccccccccc€'.repeat(3));
  const frames: FrameSpec[] = [];
  for (let i = 0; i < text.length; i += 20) {
    frames.push({ opcode: i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, payload: text.subarray(i, i + 20), fin: i + 20 >= text.length });
  }
  await c.sendTogether(frames);
  await c.expectText(text);
  await c.closeHandshake();
});
