// Shared by the permessage-deflate tests (unit, conformance, interop):
// deterministic payloads, a decompression bomb built without allocating what
// it inflates to, and promise wrappers around a MessageTransform.
import { constants, createDeflateRaw } from 'node:zlib';
import type { MessageTransform } from '../../../src/protocol/extension.js';
import type { ProtocolError } from '../../../src/protocol/errors.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Compressible text bytes: JSON-ish records with a counter, so nothing repeats exactly. */
export function compressible(n: number, seed = 0): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const s = `{"id":${seed + i},"user":"user-${(seed + i) % 97}","text":"the quick brown fox jumps over the lazy dog","ok":true}\n`;
    parts.push(s);
    size += s.length;
  }
  return Buffer.from(parts.join('').slice(0, n), 'latin1');
}

/**
 * A raw DEFLATE stream (no trailer: a permessage-deflate payload) of
 * `outputMiB` MiB of zeros, about 1 KiB per MiB: zlib's best ratio is ~1030:1,
 * so 1 GiB takes ~1 MiB. The 1 MiB segments after the first only refer back
 * to zeros, so one segment repeated stands for all of them: nothing close to
 * the output size is ever allocated.
 */
export async function zeroBomb(outputMiB: number): Promise<{ payload: Buffer; segments: Buffer[]; inflatedBytes: number }> {
  const deflate = createDeflateRaw({ level: 9, memLevel: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => parts.push(chunk));
  const zeros = Buffer.alloc(MiB);
  const segment = async (): Promise<Buffer> => {
    parts.length = 0;
    deflate.write(zeros);
    await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    return Buffer.concat(parts);
  };
  const first = await segment();
  const next = await segment();
  deflate.close();
  const segments = [first];
  for (let i = 1; i < outputMiB; i++) segments.push(next);
  return { payload: Buffer.concat(segments), segments, inflatedBytes: outputMiB * MiB };
}

export interface DecodeResult {
  error: ProtocolError | null;
  data: Buffer | undefined;
}

export function decode(t: MessageTransform, payload: Buffer | Buffer[], maxPayload = 0): Promise<DecodeResult> {
  return new Promise((resolve) => t.decode(Array.isArray(payload) ? payload : [payload], maxPayload, (error, data) => resolve({ error, data })));
}

export async function decodeOk(t: MessageTransform, payload: Buffer | Buffer[], maxPayload = 0): Promise<Buffer> {
  const { error, data } = await decode(t, payload, maxPayload);
  if (error !== null) throw error;
  return data!;
}

export function encode(t: MessageTransform, payload: Buffer, fin = true): Promise<Buffer> {
  return new Promise((resolve, reject) => t.encode(payload, fin, (error, data) => (error !== null ? reject(error) : resolve(data!))));
}

// A minimal DEFLATE reader (after zlib's puff.c) that only measures: zlib's
// inflate does not enforce its window size on distances that stay inside
// its current output buffer, so "inflates with windowBits N" proves little.
// This walks every block and reports the longest back-reference.

const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman {
  count: number[];
  symbol: number[];
}

function huffman(lengths: number[]): Huffman {
  const count = new Array<number>(16).fill(0);
  for (const l of lengths) count[l]!++;
  count[0] = 0;
  const offs = [0, 0];
  for (let i = 1; i < 15; i++) offs[i + 1] = offs[i]! + count[i]!;
  const symbol: number[] = [];
  lengths.forEach((l, s) => {
    if (l !== 0) symbol[offs[l]!++] = s;
  });
  return { count, symbol };
}

/**
 * Walks a raw DEFLATE stream (a permessage-deflate payload with its
 * 00 00 ff ff put back, or any stream ending at a block boundary) and
 * returns its uncompressed size and the longest match distance it uses.
 */
export function deflateStats(data: Uint8Array): { output: number; maxDistance: number } {
  let pos = 0;
  let bitbuf = 0;
  let bitcnt = 0;
  let output = 0;
  let maxDistance = 0;
  const bits = (n: number): number => {
    while (bitcnt < n) {
      if (pos >= data.length) throw new Error('DEFLATE stream ends inside a block');
      bitbuf |= data[pos++]! << bitcnt;
      bitcnt += 8;
    }
    const v = bitbuf & ((1 << n) - 1);
    bitbuf >>>= n;
    bitcnt -= n;
    return v;
  };
  const decode = (h: Huffman): number => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= 15; len++) {
      code |= bits(1);
      const count = h.count[len]!;
      if (code - count < first) return h.symbol[index + (code - first)]!;
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error('invalid Huffman code');
  };
  const fixedLen = huffman([...new Array(144).fill(8), ...new Array(112).fill(9), ...new Array(24).fill(7), ...new Array(8).fill(8)]);
  const fixedDist = huffman(new Array(30).fill(5));
  for (;;) {
    if (pos === data.length && bitcnt === 0) break; // ended after a byte-aligned (stored) block
    const last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitbuf = 0;
      bitcnt = 0;
      const len = data[pos]! | (data[pos + 1]! << 8);
      const nlen = data[pos + 2]! | (data[pos + 3]! << 8);
      if (len !== (~nlen & 0xffff)) throw new Error('stored block length mismatch');
      pos += 4 + len;
      output += len;
    } else if (type === 3) {
      throw new Error('invalid block type');
    } else {
      let lencode = fixedLen;
      let distcode = fixedDist;
      if (type === 2) {
        const nlen = bits(5) + 257;
        const ndist = bits(5) + 1;
        const ncode = bits(4) + 4;
        const clens = new Array<number>(19).fill(0);
        for (let i = 0; i < ncode; i++) clens[CLEN_ORDER[i]!] = bits(3);
        const clencode = huffman(clens);
        const lengths: number[] = [];
        while (lengths.length < nlen + ndist) {
          const sym = decode(clencode);
          if (sym < 16) lengths.push(sym);
          else if (sym === 16) {
            const prev = lengths.at(-1)!;
            for (let r = 3 + bits(2); r > 0; r--) lengths.push(prev);
          } else if (sym === 17) for (let r = 3 + bits(3); r > 0; r--) lengths.push(0);
          else for (let r = 11 + bits(7); r > 0; r--) lengths.push(0);
        }
        lencode = huffman(lengths.slice(0, nlen));
        distcode = huffman(lengths.slice(nlen));
      }
      for (;;) {
        const sym = decode(lencode);
        if (sym < 256) output++;
        else if (sym === 256) break;
        else {
          const len = LBASE[sym - 257]! + bits(LEXT[sym - 257]!);
          const dsym = decode(distcode);
          const dist = DBASE[dsym]! + bits(DEXT[dsym]!);
          if (dist > output) throw new Error('distance before the start of the stream');
          if (dist > maxDistance) maxDistance = dist;
          output += len;
        }
      }
    }
    if (last) break;
  }
  return { output, maxDistance };
}

/**
 * node:test aborts `t.signal` when a test ends, and also when it times out
 * while still awaiting, in which case its `finally` blocks never run. Closing
 * here too keeps a stuck test from holding the process (and the whole run)
 * open. `close` runs in both cases, so it must be idempotent; its errors are
 * ignored.
 */
export function closeOnAbort(signal: AbortSignal, close: () => unknown): void {
  signal.addEventListener(
    'abort',
    () => {
      try {
        const r = close();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // already closed
      }
    },
    { once: true },
  );
}
