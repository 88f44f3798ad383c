/**
 * A log-linear latency histogram (HdrHistogram's idea, simplified): values
 * in whole microseconds (a fraction is dropped); exact below 128, then 64
 * buckets per power of two up to 2^41, so any percentile is reported within
 * 1/64 (1.6 %) above the true value, never above the maximum, in constant
 * memory.
 */
const BITS = 7;
const SUB = 1 << BITS; // 128 exact buckets
const HALF = SUB >> 1; // 64 buckets per octave above
const MAX_SHIFT = 34; // values up to 2^41 µs

export class Histogram {
  private readonly counts = new Float64Array(SUB + MAX_SHIFT * HALF);
  count = 0;
  min = Infinity;
  max = 0;
  private sum = 0;

  /** Record one value (µs, >= 0). */
  record(value: number): void {
    const v = value < 0 ? 0 : value;
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** The value at percentile p (0-100): the upper bound of its bucket, capped by max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperBound(i), this.max);
    }
    return this.max;
  }
}

export function bucketOf(value: number): number {
  const n = Math.floor(value);
  if (n < SUB) return n;
  const shift = Math.min(MAX_SHIFT, Math.floor(Math.log2(n)) - (BITS - 1));
  const q = Math.min(SUB - 1, Math.floor(n / 2 ** shift));
  return SUB + (shift - 1) * HALF + (q - HALF);
}

export function upperBound(index: number): number {
  if (index < SUB) return index;
  const shift = Math.floor((index - SUB) / HALF) + 1;
  const q = ((index - SUB) % HALF) + HALF;
  return (q + 1) * 2 ** shift - 1;
}
