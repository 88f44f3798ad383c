// The log-linear latency histogram behind `hyperws bench`: exact below 128 µs,
// within 1/64 above beyond, never above the largest value recorded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram, bucketOf, upperBound } from '../../src/cli/bench/histogram.js';

/** The true percentile of a sorted list, with the same rank rule (nearest rank). */
function truePercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

function histogramOf(values: number[]): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

/** The largest index the histogram holds (values up to 2^41 - 1 µs). */
const LARGEST = 2 ** 41 - 1;

describe('Histogram', () => {
  it('returns 0 for every percentile and the mean when empty', () => {
    const h = new Histogram();
    assert.equal(h.count, 0);
    for (const p of [0, 50, 90, 99, 99.9, 100]) assert.equal(h.percentile(p), 0);
    assert.equal(h.mean, 0);
    assert.equal(h.max, 0);
  });

  it('is exact below 128: every value 0..127 is its own bucket', () => {
    const values = Array.from({ length: 128 }, (_, i) => i);
    const h = histogramOf(values);
    assert.equal(h.count, 128);
    assert.equal(h.min, 0);
    assert.equal(h.max, 127);
    assert.equal(h.mean, 63.5);
    for (let p = 1; p <= 100; p++) assert.equal(h.percentile(p), truePercentile(values, p), `p${p}`);
    assert.equal(h.percentile(0), 0);
  });

  it('reports a single value exactly at every percentile, small or large (capped by max)', () => {
    for (const v of [0, 1, 127, 128, 129, 1000, 65_535, 1_000_003, LARGEST]) {
      const h = histogramOf([v]);
      for (const p of [0, 50, 99.9, 100]) assert.equal(h.percentile(p), v, `value ${v}, p${p}`);
    }
  });

  it('reports the upper bound of the bucket for a large value below max', () => {
    // 1001 and 2000: 1001 lies in [1000, 1007] (8 wide between 2^9 and 2^10), so p50 is 1007.
    const h = histogramOf([1001, 2000]);
    assert.equal(bucketOf(1001), bucketOf(1000));
    assert.equal(bucketOf(1001), bucketOf(1007));
    assert.equal(bucketOf(999), bucketOf(1000) - 1);
    assert.equal(bucketOf(1008), bucketOf(1000) + 1);
    assert.equal(h.percentile(50), 1007);
    assert.equal(h.percentile(100), 2000);
  });

  it('clamps negative values to 0', () => {
    const h = histogramOf([-5, -0.5]);
    assert.equal(h.count, 2);
    assert.equal(h.min, 0);
    assert.equal(h.percentile(100), 0);
    assert.equal(h.mean, 0);
  });

  it('works in whole microseconds: a fraction is dropped by the bucket, not rounded up', () => {
    const h = histogramOf([5.9, 200.5]);
    assert.equal(bucketOf(5.9), 5);
    assert.equal(h.percentile(50), 5);
    assert.equal(h.percentile(100), 200.5); // max itself is kept exact
    assert.equal(h.mean, (5.9 + 200.5) / 2);
  });

  it('percentiles of 1..10000 µs, uniform: p50, p90, p99 within 1/64 above; p99.9 and max exact', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const h = histogramOf(values);
    assert.equal(h.count, 10_000);
    assert.equal(h.min, 1);
    assert.equal(h.max, 10_000);
    assert.equal(h.mean, 5000.5);
    // Exact figures of this bucket layout, each the upper bound of the true value's bucket.
    assert.equal(h.percentile(50), 5055); // true 5000: [4992, 5055] at 64 per octave above 4096
    assert.equal(h.percentile(90), 9087); // true 9000: [8960, 9087]
    assert.equal(h.percentile(99), 9983); // true 9900: [9856, 9983]
    assert.equal(h.percentile(99.9), 10_000); // true 9990: bucket [9984, 10111] capped by max
    assert.equal(h.percentile(100), 10_000);
    for (const p of [50, 90, 99, 99.9]) {
      const truth = truePercentile(values, p);
      const got = h.percentile(p);
      assert.ok(got >= truth && (got - truth) / truth <= 1 / 64, `p${p}: ${got} vs ${truth}`);
    }
    assert.ok(Math.abs(h.percentile(50) - 5000) / 5000 <= 0.016);
  });

  it('percentiles are non-decreasing in p', () => {
    const h = histogramOf(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 100_003));
    let last = -1;
    for (let p = 0; p <= 100; p += 0.5) {
      const v = h.percentile(p);
      assert.ok(v >= last, `p${p}: ${v} < ${last}`);
      last = v;
    }
  });

  it('merge() equals recording both sets into one histogram', () => {
    const a = Array.from({ length: 3000 }, (_, i) => (i * 37) % 4096);
    const b = Array.from({ length: 1000 }, (_, i) => 50_000 + i * 13);
    const merged = histogramOf(a);
    merged.merge(histogramOf(b));
    const direct = histogramOf([...a, ...b]);
    assert.equal(merged.count, 4000);
    assert.equal(merged.min, direct.min);
    assert.equal(merged.max, direct.max);
    assert.equal(merged.mean, direct.mean);
    for (const p of [1, 10, 50, 75, 90, 99, 99.9, 100]) assert.equal(merged.percentile(p), direct.percentile(p), `p${p}`);
    // b lies wholly above a: the 75th percentile is in a's top bucket, the next rank in b.
    assert.equal(merged.percentile(75), upperBound(bucketOf(Math.max(...a))));
    assert.ok(merged.percentile(75.1) >= 50_000);
  });

  it('merge() with an empty histogram changes nothing, and into an empty one copies', () => {
    const h = histogramOf([3, 300, 30_000]);
    h.merge(new Histogram());
    assert.deepEqual([h.count, h.min, h.max, h.percentile(50)], [3, 3, 30_000, upperBound(bucketOf(300))]);
    const empty = new Histogram();
    empty.merge(h);
    assert.deepEqual([empty.count, empty.min, empty.max, empty.mean], [3, 3, 30_000, h.mean]);
    for (const p of [0, 50, 100]) assert.equal(empty.percentile(p), h.percentile(p));
  });
});

describe('bucketOf / upperBound', () => {
  it('bucket boundaries at every power of two from 2^7 to 2^40, and the last bound 2^41 - 1, are exact', () => {
    for (let k = 7; k <= 41; k++) {
      const low = 2 ** k;
      // 2^k opens a bucket: the value below it belongs to the previous one, whose bound is 2^k - 1.
      assert.equal(upperBound(bucketOf(low - 1)), low - 1, `2^${k} - 1`);
      if (k === 41) break; // 2^41 is past the last bucket
      assert.equal(bucketOf(low), bucketOf(low - 1) + 1, `2^${k}`);
      assert.equal(upperBound(bucketOf(low)), low + 2 ** (k - 6) - 1, `width at 2^${k}`);
    }
    assert.equal(upperBound(bucketOf(LARGEST)), LARGEST);
  });

  it('upperBound is strictly increasing and each bound maps back to its own bucket', () => {
    const last = bucketOf(LARGEST);
    for (let i = 0; i <= last; i++) {
      assert.equal(bucketOf(upperBound(i)), i, `bucket ${i}`);
      if (i > 0) assert.ok(upperBound(i) > upperBound(i - 1), `bucket ${i}`);
      // The smallest value of bucket i is one above the previous bound.
      if (i > 0) assert.equal(bucketOf(upperBound(i - 1) + 1), i, `bucket ${i} start`);
    }
  });

  it('property: upperBound(bucketOf(v)) >= v, within 1/64, and bucketOf is monotonic', () => {
    const value = fc.integer({ min: 0, max: LARGEST });
    fc.assert(
      fc.property(value, (v) => {
        const bound = upperBound(bucketOf(v));
        assert.ok(bound >= v, `${bound} < ${v}`);
        if (v < 128) assert.equal(bound, v);
        else assert.ok((bound - v) / v <= 1 / 64, `${v} -> ${bound}`);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(value, value, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.ok(bucketOf(lo) <= bucketOf(hi), `${lo} ${hi}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any percentile is within 1/64 above the true one and never above max', () => {
    const values = fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 300 });
    const p = fc.double({ min: 0, max: 100, noNaN: true });
    fc.assert(
      fc.property(values, p, (vs, pct) => {
        const sorted = [...vs].sort((x, y) => x - y);
        const h = histogramOf(vs);
        const truth = truePercentile(sorted, pct);
        const got = h.percentile(pct);
        assert.ok(got <= h.max && h.max === sorted.at(-1));
        assert.ok(got >= truth, `p${pct}: ${got} < ${truth}`);
        if (truth < 128) assert.equal(got, truth);
        else assert.ok((got - truth) / truth <= 1 / 64, `p${pct}: ${got} vs ${truth}`);
      }),
      { numRuns: 500 },
    );
  });
});
