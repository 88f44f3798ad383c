/**
 * What the fuzzer feeds the core: one case per (seed, index), drawn from five
 * families. 'random': bytes. 'frames': frames whose every header field is
 * drawn at random (opcodes, RSV bits, masking, non-minimal lengths, close
 * codes, garbage compressed data). 'valid': a conformant stream for the role,
 * with fragments, interleaved control frames, compressed messages and an
 * optional Close, together with the events it must produce. 'mutated': a
 * valid stream with a few bytes flipped, inserted, deleted or duplicated.
 * 'bomb': a small compressed message that inflates to megabytes.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { DEFAULTS, type Role } from '../../../src/protocol/options.js';
import { Rng } from './rng.js';
import { closePayload, frame, randomText, type FrameFields } from './wire.js';

export type InputKind = 'random' | 'frames' | 'valid' | 'mutated' | 'bomb';
export const INPUT_KINDS: readonly InputKind[] = ['random', 'frames', 'valid', 'mutated', 'bomb'];

export type FuzzEvent =
  | { type: 'message'; binary: boolean; data: Buffer }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'close'; code: number; reason: Buffer }
  | { type: 'fail'; code: number; error: string };

/** permessage-deflate as negotiated for the case (RFC 7692 7.1). */
export interface DeflateSetup {
  /** The peer keeps its compression context between messages: our inflater keeps it too. */
  inflateTakeover: boolean;
  /** We keep ours (what the echo sends). */
  deflateTakeover: boolean;
  /** LZ77 window the peer compresses with (8-15). */
  peerWindowBits: number;
  /** Window we compress with. */
  ownWindowBits: number;
  /** Messages we send below this size are not compressed. */
  threshold: number;
}

export interface Expected {
  /** Every event, the terminal one included. */
  events: FuzzEvent[];
  /**
   * A message is larger than maxPayload: the events are a prefix of `events`
   * (up to the message before it) and the connection fails with 1009.
   */
  overLimit: boolean;
}

export interface FuzzCase {
  seed: number;
  index: number;
  kind: InputKind;
  role: Role;
  deflate: DeflateSetup | null;
  maxPayload: number;
  skipUTF8Validation: boolean;
  deliverFragments: boolean;
  /** Send every message back: the sending side (framing, compression, order) is checked too. */
  echo: boolean;
  /** The peer's EOF follows the bytes. */
  eof: boolean;
  /** We send our Close (1000, 'fuzz') before any input: it is all read in the ClosingByUs phase. */
  closeFirst: boolean;
  input: Buffer;
  /** What a valid input must produce (null for the other kinds). */
  expected: Expected | null;
}

const MAX_PAYLOADS = [0, 1, 125, 1024, 65_536, DEFAULTS.maxPayload] as const;
const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999] as const;
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The case for (seed, index): deterministic, independent of every other index. */
export function generateCase(seed: number, index: number): FuzzCase {
  const rng = new Rng(seed, index);
  const kindRoll = rng.int(100);
  const kind: InputKind = kindRoll < 10 ? 'random' : kindRoll < 35 ? 'frames' : kindRoll < 60 ? 'valid' : kindRoll < 99 ? 'mutated' : 'bomb';
  const role: Role = rng.chance(0.5) ? 'server' : 'client';
  const deflate = kind === 'bomb' || rng.chance(0.5) ? deflateSetup(rng) : null;
  const maxPayload = kind === 'bomb' ? rng.pick([1024, 65_536, 1 << 20, 0]) : rng.pick(MAX_PAYLOADS);
  const c: FuzzCase = {
    seed,
    index,
    kind,
    role,
    deflate,
    maxPayload,
    skipUTF8Validation: rng.chance(0.1),
    deliverFragments: rng.chance(0.2),
    echo: rng.chance(0.25),
    eof: rng.chance(0.3),
    closeFirst: rng.chance(0.1),
    input: Buffer.alloc(0),
    expected: null,
  };
  const peer = new Peer(rng, c);
  if (kind === 'random') c.input = randomBytes(rng);
  else if (kind === 'frames') c.input = peer.randomFrames();
  else if (kind === 'bomb') c.input = peer.bomb();
  else {
    const valid = peer.validStream();
    c.input = valid.bytes;
    if (kind === 'valid') c.expected = valid.expected;
    else c.input = mutate(rng, valid.bytes, valid.frameStarts);
  }
  return c;
}

function deflateSetup(rng: Rng): DeflateSetup {
  return {
    inflateTakeover: rng.chance(0.3),
    deflateTakeover: rng.chance(0.3),
    peerWindowBits: rng.chance(0.8) ? 15 : rng.range(9, 15),
    ownWindowBits: rng.chance(0.8) ? 15 : rng.range(9, 15),
    threshold: rng.pick([0, 16, 1024]),
  };
}

function randomBytes(rng: Rng): Buffer {
  const bytes = rng.bytes(rng.int(64));
  // Half the time, a plausible first byte (FIN and a known opcode) gets past the first check.
  if (bytes.length > 0 && rng.chance(0.5)) bytes[0] = 0x80 | rng.pick([0, 1, 2, 8, 9, 10]);
  return bytes;
}

/** The sending peer: frames masked as its role requires (a server's peer is a client). */
class Peer {
  private readonly masked: boolean;

  constructor(
    private readonly rng: Rng,
    private readonly c: FuzzCase,
  ) {
    this.masked = c.role === 'server';
  }

  private maskKey(): Buffer | null {
    if (!this.masked) return null;
    return this.rng.chance(0.1) ? Buffer.alloc(4) : this.rng.bytes(4);
  }

  private frame(fin: boolean, rsv: number, opcode: number, payload: Buffer): Buffer {
    return frame({ fin, rsv, opcode, mask: this.maskKey() }, payload);
  }

  /** Compressed as RFC 7692 7.2.1 says: a sync flush, its 00 00 ff ff removed. */
  private compress(data: Buffer): Buffer {
    const out = deflateRawSync(data, {
      windowBits: Math.max(9, this.c.deflate!.peerWindowBits),
      level: this.rng.pick([0, 1, 6, 9]),
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    return out.length >= 4 && out.subarray(out.length - 4).equals(TRAILER) ? out.subarray(0, out.length - 4) : out;
  }

  private payload(binary: boolean): Buffer {
    const n = this.rng.length(300_000);
    return binary ? this.rng.bytes(n) : randomText(this.rng, n);
  }

  validStream(): { bytes: Buffer; frameStarts: number[]; expected: Expected } {
    const rng = this.rng;
    const pieces: Buffer[] = [];
    const events: FuzzEvent[] = [];
    let overLimit = false;
    const max = this.c.maxPayload;
    const control = (): void => {
      const ping = rng.chance(0.6);
      const data = rng.bytes(rng.chance(0.9) ? rng.int(16) : rng.int(126));
      pieces.push(this.frame(true, 0, ping ? 0x9 : 0xa, data));
      if (!overLimit) events.push({ type: ping ? 'ping' : 'pong', data });
    };
    const items = rng.range(1, 6);
    for (let i = 0; i < items; i++) {
      if (rng.chance(0.3)) {
        control();
        continue;
      }
      const binary = rng.chance(0.5);
      const data = this.payload(binary);
      const compressed = this.c.deflate !== null && rng.chance(0.6);
      const wire = compressed ? this.compress(data) : data;
      const fragments = rng.chance(0.6) ? 1 : rng.range(2, 5);
      const cuts = sortedCuts(rng, wire.length, fragments - 1);
      for (let f = 0; f < fragments; f++) {
        const first = f === 0;
        const last = f === fragments - 1;
        pieces.push(this.frame(last, first && compressed ? 4 : 0, first ? (binary ? 0x2 : 0x1) : 0x0, wire.subarray(cuts[f]!, cuts[f + 1]!)));
        if (!last && rng.chance(0.3)) control();
      }
      if (max > 0 && data.length > max) overLimit = true;
      if (!overLimit) events.push({ type: 'message', binary, data });
    }
    if (rng.chance(0.5)) {
      let payload: Buffer = Buffer.alloc(0);
      let code = 1005;
      let reason: Buffer = Buffer.alloc(0);
      if (rng.chance(0.8)) {
        code = rng.pick(VALID_CLOSE_CODES);
        reason = randomText(rng, rng.int(124));
        payload = closePayload(code, reason);
      }
      pieces.push(this.frame(true, 0, 0x8, payload));
      if (!overLimit) events.push({ type: 'close', code, reason });
      // Whatever follows a Close frame is ignored.
      if (rng.chance(0.3)) pieces.push(rng.bytes(rng.int(32)));
    }
    const frameStarts: number[] = [];
    let at = 0;
    for (const p of pieces) {
      frameStarts.push(at);
      at += p.length;
    }
    return { bytes: Buffer.concat(pieces, at), frameStarts, expected: { events, overLimit } };
  }

  randomFrames(): Buffer {
    const rng = this.rng;
    const pieces: Buffer[] = [];
    const count = rng.range(1, 6);
    for (let i = 0; i < count; i++) {
      const opcode = rng.chance(0.85) ? rng.pick([0, 1, 2, 8, 9, 10]) : rng.int(16);
      const fields: FrameFields = {
        fin: rng.chance(0.75),
        rsv: rng.chance(0.7) ? 0 : rng.chance(0.6) ? 4 : rng.int(8),
        opcode,
        mask: rng.chance(0.9) === this.masked ? (rng.chance(0.1) ? Buffer.alloc(4) : rng.bytes(4)) : null,
      };
      let payload: Buffer;
      const roll = rng.int(6);
      if (opcode === 0x8 && roll < 3) {
        const code = rng.chance(0.5) ? rng.pick(VALID_CLOSE_CODES) : rng.int(5000);
        payload = rng.chance(0.1) ? rng.bytes(1) : closePayload(code, rng.chance(0.8) ? randomText(rng, rng.int(124)) : rng.bytes(rng.int(130)));
      } else if (roll === 0 && this.c.deflate !== null) {
        payload = this.compress(this.payload(rng.chance(0.5)));
      } else if (roll === 1) {
        payload = randomText(rng, rng.length(70_000));
      } else {
        payload = rng.bytes(rng.length(70_000));
      }
      const len = payload.length;
      // A longer encoding than needed must be refused (RFC 6455 5.2: minimal number of bytes).
      if (rng.chance(0.1)) fields.lengthForm = len < 0x10000 ? rng.pick([16, 64] as const) : 64;
      pieces.push(frame(fields, payload));
    }
    if (rng.chance(0.1)) pieces.push(hugeLengthHeader(rng, this.masked));
    return Buffer.concat(pieces);
  }

  /** Zeros that inflate to 64 KiB - 4 MiB from about a thousandth of that on the wire. */
  bomb(): Buffer {
    const size = this.rng.pick([70_000, 1 << 20, 4 << 20]);
    let wire = bombs.get(size);
    if (wire === undefined) {
      wire = this.compress(Buffer.alloc(size));
      bombs.set(size, wire);
    }
    const binary = this.rng.chance(0.5);
    const fragments = this.rng.range(1, 3);
    const cuts = sortedCuts(this.rng, wire.length, fragments - 1);
    const pieces: Buffer[] = [];
    for (let f = 0; f < fragments; f++) {
      pieces.push(this.frame(f === fragments - 1, f === 0 ? 4 : 0, f === 0 ? (binary ? 2 : 1) : 0, wire.subarray(cuts[f]!, cuts[f + 1]!)));
    }
    return Buffer.concat(pieces);
  }
}

const bombs = new Map<number, Buffer>();

/** A frame header announcing far more bytes than will ever come (up to 2^64 - 1). */
function hugeLengthHeader(rng: Rng, masked: boolean): Buffer {
  const head = Buffer.alloc(masked ? 14 : 10);
  head[0] = 0x80 | rng.pick([1, 2]);
  head[1] = (masked ? 0x80 : 0) | 127;
  head.writeUInt32BE(rng.chance(0.5) ? rng.u32() : rng.int(0x20_0000), 2);
  head.writeUInt32BE(rng.u32(), 6);
  return head;
}

/** `count` cut points in [0, length], sorted, with 0 and length at the ends. */
function sortedCuts(rng: Rng, length: number, count: number): number[] {
  const cuts = [0];
  for (let i = 0; i < count; i++) cuts.push(rng.int(length + 1));
  cuts.push(length);
  return cuts.sort((a, b) => a - b);
}

/** One to four edits of a valid stream, biased towards its frame headers. */
function mutate(rng: Rng, valid: Buffer, frameStarts: number[]): Buffer {
  let bytes = Buffer.from(valid);
  const edits = rng.range(1, 4);
  for (let e = 0; e < edits; e++) {
    const n = bytes.length;
    const at = n === 0 ? 0 : rng.chance(0.5) && frameStarts.length > 0 ? Math.min(n - 1, rng.pick(frameStarts) + rng.int(3)) : rng.int(n);
    switch (rng.int(8)) {
      case 0: // flip a bit
        if (n > 0) bytes[at] ^= 1 << rng.int(8);
        break;
      case 1: // replace a byte
        if (n > 0) bytes[at] = rng.u32() & 0xff;
        break;
      case 2: // insert bytes
        bytes = Buffer.concat([bytes.subarray(0, at), rng.bytes(rng.range(1, 8)), bytes.subarray(at)]);
        break;
      case 3: // delete a range
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(n, at + rng.range(1, 16)))]);
        break;
      case 4: // truncate
        bytes = bytes.subarray(0, at);
        break;
      case 5: { // duplicate a range (a frame sent twice, half a header repeated)
        const end = Math.min(n, at + rng.range(1, 64));
        bytes = Buffer.concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]);
        break;
      }
      case 6: // set the 7-bit length field to an extended form
        if (n > 1 && frameStarts.length > 0) {
          const start = rng.pick(frameStarts) + 1;
          if (start < n) bytes[start] = (bytes[start]! & 0x80) | rng.pick([125, 126, 127]);
        }
        break;
      default: // RSV/opcode nibble of a frame header
        if (frameStarts.length > 0) {
          const start = rng.pick(frameStarts);
          if (start < n) bytes[start] = (bytes[start]! & 0x80) | (rng.int(8) << 4) | rng.int(16);
        }
    }
  }
  return bytes;
}
