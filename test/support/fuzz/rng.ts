/**
 * The fuzzer's seeded PRNG (xoshiro128**): the same seed gives the same
 * inputs on every machine, and each input has its own generator derived from
 * (seed, index), so one input can be replayed without the ones before it.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    // splitmix32 spreads (seed, stream) over the four words of state.
    let s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream >>> 0, 0x85ebca6b)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1; // never all zero
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** An integer in [0, n) (n up to 2^32). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes (past 256, a copy of a random stretch of a fixed random pool: generating is not the point). */
  bytes(n: number): Buffer {
    if (n > 256 && n <= POOL_SIZE) {
      const at = this.int(POOL_SIZE - n + 1);
      return Buffer.from(randomPool().subarray(at, at + n));
    }
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A length skewed towards small values: most under 126, some 16-bit, a few larger. */
  length(max: number): number {
    const r = this.int(100);
    const n = r < 70 ? this.int(126) : r < 95 ? this.range(126, 4096) : r < 99 ? this.range(4097, 70_000) : this.range(70_001, 300_000);
    return Math.min(n, max);
  }
}

/** Size of the shared pools that large random payloads are cut from. */
export const POOL_SIZE = 512 * 1024;
let pool: Buffer | null = null;

function randomPool(): Buffer {
  if (pool === null) {
    const rng = new Rng(0x9e3779b9, 0xffffffff);
    pool = Buffer.allocUnsafe(POOL_SIZE);
    for (let i = 0; i < POOL_SIZE; i += 4) pool.writeUInt32LE(rng.u32(), i);
  }
  return pool;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
