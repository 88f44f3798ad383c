// Deterministic test bytes, shared by every suite that needs them: one
// pseudo-random generator, a hex parser and sha256. (test/interop/deflate.test.ts
// keeps its own bytesOf: its source is sent to a browser page and must stay
// self-contained.)
import { createHash } from 'node:crypto';

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** Bytes from hex digits; whitespace is ignored ('f2 48 cd'). */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** One xorshift32 step. */
function xorshift32(x: number): number {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/**
 * `n` incompressible-looking bytes (xorshift32, 4 bytes per step: no crypto
 * cost for tens of MiB), the same for the same seed. The seed is mixed and
 * the first outputs skipped, so nearby seeds do not give related streams.
 * Some deflate tests rely on properties of the bytes their seeds give
 * (incompressible, no repeats within a block): keep this seeding as it is.
 */
export function pseudoRandomBytes(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0 || 1;
  for (let k = 0; k < 32; k++) x = xorshift32(x);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x = xorshift32(x);
    out.writeUInt32LE(x, i);
  }
  for (; i < n; i++) out[i] = (x >>> (8 * (i & 3))) & 0xff;
  return out;
}
