// Shared by the permessage-deflate tests (unit, conformance, interop):
// deterministic payloads, a decompression bomb built without allocating what
// it inflates to, and promise wrappers around a MessageTransform.
import { constants, createDeflateRaw } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { MessageTransform } from '../../../src/protocol/extension.js';
import type { ProtocolError } from '../../../src/protocol/errors.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** Incompressible-looking bytes (xorshift32), deterministic per seed. */
export function randomish(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(n);
  // Mix the seed and skip the first outputs: nearby seeds must not give related streams.
  let x = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0 || 1;
  for (let k = 0; k < 32; k++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < n; i++) out[i] = (x >>> (8 * (i & 3))) & 0xff;
  return out;
}

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
