// The zlib stream pools on their own: what borrow creates, when a returned
// stream is lent again (reset) and when it is closed instead (pool full,
// destroyed, ended by a BFINAL block or by end(), unread output, a write
// still running), and which parameters key a pool.
// The pools are process-wide: every test here uses chunk sizes no other test
// uses, so each starts from empty pools, and it closes every stream it got.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants, deflateRawSync, DeflateRaw, InflateRaw } from 'node:zlib';
import {
  borrowDeflater,
  borrowInflater,
  createDeflater,
  createInflater,
  deflateWindowBits,
  returnDeflater,
  returnInflater,
  type DeflateParamsKey,
} from '../../../src/extensions/permessage-deflate/zlib-pool.js';
import { hex, pseudoRandomBytes } from '../../support/bytes.js';

/** The idle streams a pool keeps per key (MAX_IDLE in zlib-pool.ts). */
const MAX_IDLE = 16;

let chunkSizes = 1000;
/** A chunk size not used before in this file: a key whose pools are empty. */
const freshChunkSize = (): number => chunkSizes++;
const params = (over: Partial<DeflateParamsKey> = {}): DeflateParamsKey => ({
  windowBits: 15,
  level: 6,
  memLevel: 8,
  strategy: constants.Z_DEFAULT_STRATEGY,
  chunkSize: freshChunkSize(),
  ...over,
});

/** 'Hello' as one sync-flushed raw DEFLATE write (fixed Huffman block, then the 00 00 ff ff of the flush). */
const HELLO = hex('f2 48 cd c9 c9 07 00 00 00 ff ff');

/**
 * One write through a stream, as the transform does it: its output is
 * collected from 'data' until the write's callback (plus whatever is still
 * buffered then). Rejects on the stream's error.
 */
function through(stream: DeflateRaw | InflateRaw, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (chunk: Buffer): void => void out.push(chunk);
    const onError = (error: Error): void => {
      stream.removeListener('data', onData);
      reject(error);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(input, (error) => {
      if (error) return; // reported through 'error'
      while (stream.readableLength > 0 && stream.read() !== null);
      stream.removeListener('data', onData);
      stream.removeListener('error', onError);
      resolve(Buffer.concat(out));
    });
  });
}

const closeAll = (...streams: Array<DeflateRaw | InflateRaw>): void => {
  for (const s of streams) s.close();
};

describe('zlib-pool: stream parameters', () => {
  it('deflateWindowBits: 8 becomes 9 (the smallest zlib deflates with), the rest as is', () => {
    assert.deepEqual(
      [8, 9, 10, 12, 15].map(deflateWindowBits),
      [9, 9, 10, 12, 15],
    );
  });

  it('createDeflater: each write is sync-flushed, with the given level', async () => {
    const d = createDeflater(params());
    const stored = createDeflater(params({ level: 0 }));
    try {
      assert.deepEqual(await through(d, Buffer.from('Hello')), HELLO);
      // Level 0: a stored block (BFINAL 0, LEN 5, NLEN), the bytes, then the empty stored block of the flush.
      assert.deepEqual(await through(stored, Buffer.from('Hello')), hex('00 05 00 fa ff 48 65 6c 6c 6f 00 00 00 ff ff'));
    } finally {
      closeAll(d, stored);
    }
  });

  it('createDeflater and createInflater: chunkSize bounds each output chunk', async () => {
    const data = pseudoRandomBytes(1000, 3);
    const d = createDeflater(params({ chunkSize: 64 }));
    const i = createInflater(15, 64);
    try {
      const sizes = (s: DeflateRaw | InflateRaw): number[] => {
        const seen: number[] = [];
        s.on('data', (chunk: Buffer) => seen.push(chunk.length));
        return seen;
      };
      const deflated = sizes(d);
      const compressed = await through(d, data);
      assert.ok(deflated.length > 1 && deflated.every((n) => n <= 64), `deflate chunks ${deflated.join(',')}`);
      const inflated = sizes(i);
      assert.ok((await through(i, compressed)).equals(data));
      assert.ok(inflated.length > 1 && inflated.every((n) => n <= 64), `inflate chunks ${inflated.join(',')}`);
    } finally {
      closeAll(d, i);
    }
  });

  it('createInflater: the window is the one given (a match 1000 bytes back fails with 9 bits, passes with 10)', async () => {
    const head = pseudoRandomBytes(1000, 7);
    const data = Buffer.concat([head, head.subarray(0, 200)]);
    const compressed = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
    // zlib checks the window across output chunks: small chunks make the check real.
    const small = createInflater(9, 64);
    const enough = createInflater(10, 64);
    try {
      await assert.rejects(through(small, compressed), /invalid distance too far back/);
      assert.ok((await through(enough, compressed)).equals(data));
    } finally {
      closeAll(small, enough);
    }
  });
});

describe('zlib-pool: deflaters', () => {
  it('borrow from an empty pool creates a new stream each time', async () => {
    const p = params();
    const a = borrowDeflater(p);
    const b = borrowDeflater(p);
    try {
      assert.ok(a instanceof DeflateRaw);
      assert.notEqual(a, b);
      assert.deepEqual(await through(a, Buffer.from('Hello')), HELLO);
    } finally {
      closeAll(a, b);
    }
  });

  it('a returned stream is lent again, reset: the same input gives the same bytes as the first time', async () => {
    const p = params();
    const d = borrowDeflater(p);
    const streams = [d];
    try {
      assert.deepEqual(await through(d, Buffer.from('Hello')), HELLO);
      returnDeflater(p, d);
      assert.equal(d.destroyed, false);
      const again = borrowDeflater(p);
      streams.push(again);
      assert.equal(again, d);
      // Without the reset, the second 'Hello' would be a match into the first.
      assert.deepEqual(await through(again, Buffer.from('Hello')), HELLO);
      const next = borrowDeflater(p);
      streams.push(next);
      assert.notEqual(next, d, 'lent once, not twice');
    } finally {
      closeAll(...streams);
    }
  });

  it('pools are keyed by windowBits, level, memLevel, strategy and chunkSize', () => {
    const p = params();
    const d = borrowDeflater(p);
    const others: DeflateRaw[] = [];
    try {
      returnDeflater(p, d);
      for (const over of [
        { windowBits: 14 },
        { level: 5 },
        { memLevel: 7 },
        { strategy: constants.Z_FILTERED },
        { chunkSize: freshChunkSize() },
        { chunkSize: undefined },
      ]) {
        const other = borrowDeflater({ ...p, ...over });
        others.push(other);
        assert.notEqual(other, d, JSON.stringify(over));
      }
      const same = borrowDeflater({ ...p });
      assert.equal(same, d, 'equal parameters in another object: the same pool');
    } finally {
      closeAll(d, ...others);
    }
  });

  it('a destroyed stream handed back is not lent again', () => {
    const p = params();
    const d = borrowDeflater(p);
    d.destroy();
    returnDeflater(p, d);
    const next = borrowDeflater(p);
    try {
      assert.notEqual(next, d);
      assert.equal(next.destroyed, false);
    } finally {
      next.close();
    }
  });
});

describe('zlib-pool: inflaters', () => {
  it('borrow from an empty pool creates a new stream; it inflates each sync-flushed write at once', async () => {
    const cs = freshChunkSize();
    const a = borrowInflater(15, cs);
    const b = borrowInflater(15, cs);
    try {
      assert.ok(a instanceof InflateRaw);
      assert.notEqual(a, b);
      assert.equal((await through(a, HELLO)).toString(), 'Hello');
    } finally {
      closeAll(a, b);
    }
  });

  it('an inflater handed back in the middle of a message is reset: the next message inflates from scratch', async () => {
    const cs = freshChunkSize();
    const compressed = deflateRawSync(pseudoRandomBytes(4000, 1), { finishFlush: constants.Z_SYNC_FLUSH });
    const i = borrowInflater(15, cs);
    const streams = [i];
    try {
      await through(i, compressed.subarray(0, compressed.length >> 1));
      returnInflater(15, cs, i);
      const again = borrowInflater(15, cs);
      streams.push(again);
      assert.equal(again, i);
      assert.equal((await through(again, HELLO)).toString(), 'Hello');
    } finally {
      closeAll(...streams);
    }
  });

  it('pools are keyed by window bits and chunk size', () => {
    const cs = freshChunkSize();
    const i = borrowInflater(15, cs);
    const others: InflateRaw[] = [];
    try {
      returnInflater(15, cs, i);
      for (const [bits, size] of [
        [14, cs],
        [15, freshChunkSize()],
        [15, undefined],
      ] as const) {
        const other = borrowInflater(bits, size);
        others.push(other);
        assert.notEqual(other, i, `${bits}/${size}`);
      }
      assert.equal(borrowInflater(15, cs), i);
    } finally {
      closeAll(i, ...others);
    }
  });

  it('an inflater that saw a BFINAL block is closed, not lent again (reset cannot revive it)', async () => {
    const cs = freshChunkSize();
    const i = borrowInflater(15, cs);
    // 'Hello' in a final block, then the 00 00 ff ff a permessage-deflate receiver appends.
    assert.equal((await through(i, hex('f3 48 cd c9 c9 07 00 00 00 ff ff'))).toString(), 'Hello');
    assert.equal(i.readableEnded, true);
    returnInflater(15, cs, i);
    assert.equal(i.destroyed, true, 'closed');
    const next = borrowInflater(15, cs);
    try {
      assert.notEqual(next, i);
      assert.equal((await through(next, HELLO)).toString(), 'Hello');
    } finally {
      next.close();
    }
  });

  it('an inflater that failed on invalid data is closed, not lent again', async () => {
    const cs = freshChunkSize();
    const i = borrowInflater(15, cs);
    await assert.rejects(through(i, hex('ff ff ff')), { code: 'Z_DATA_ERROR' });
    assert.equal(i.destroyed, true);
    returnInflater(15, cs, i);
    const next = borrowInflater(15, cs);
    try {
      assert.notEqual(next, i);
      assert.equal((await through(next, HELLO)).toString(), 'Hello');
    } finally {
      next.close();
    }
  });
});

describe('zlib-pool: size bound', () => {
  const kinds = [
    {
      kind: 'deflate',
      pool: () => {
        const p = params();
        return { create: () => createDeflater(p), borrow: () => borrowDeflater(p), give: (s: DeflateRaw | InflateRaw) => returnDeflater(p, s as DeflateRaw) };
      },
    },
    {
      kind: 'inflate',
      pool: () => {
        const cs = freshChunkSize();
        return { create: () => createInflater(15, cs), borrow: () => borrowInflater(15, cs), give: (s: DeflateRaw | InflateRaw) => returnInflater(15, cs, s as InflateRaw) };
      },
    },
  ];
  for (const { kind, pool } of kinds) {
    it(`${kind}: at most ${MAX_IDLE} idle streams per key; one more handed back is closed`, () => {
      const { create, borrow, give } = pool();
      const streams = Array.from({ length: MAX_IDLE + 1 }, create);
      const borrowed: Array<DeflateRaw | InflateRaw> = [];
      try {
        for (const s of streams) give(s);
        assert.deepEqual(
          streams.map((s) => s.destroyed),
          [...Array<boolean>(MAX_IDLE).fill(false), true],
        );
        for (let n = 0; n < MAX_IDLE; n++) borrowed.push(borrow());
        assert.deepEqual(new Set(borrowed), new Set(streams.slice(0, MAX_IDLE)));
        const extra = borrow();
        borrowed.push(extra);
        assert.ok(!streams.includes(extra), 'the pool is empty again: a new stream');
      } finally {
        closeAll(...streams, ...borrowed);
      }
    });
  }
});

describe('zlib-pool: streams handed back with something left in them', () => {
  // reset() resets zlib's state only: the stream's own buffers and ended
  // sides stay. Such a stream is closed, and the next borrower gets another.
  const kinds = [
    {
      kind: 'deflater',
      pool: () => {
        const p = params();
        return { borrow: (): DeflateRaw | InflateRaw => borrowDeflater(p), give: (s: DeflateRaw | InflateRaw) => returnDeflater(p, s as DeflateRaw), input: Buffer.from('Hello'), output: HELLO };
      },
    },
    {
      kind: 'inflater',
      pool: () => {
        const cs = freshChunkSize();
        return { borrow: (): DeflateRaw | InflateRaw => borrowInflater(15, cs), give: (s: DeflateRaw | InflateRaw) => returnInflater(15, cs, s as InflateRaw), input: HELLO, output: Buffer.from('Hello') };
      },
    },
  ];
  for (const { kind, pool } of kinds) {
    it(`${kind}: output nobody read is not passed to the next borrower: the stream is closed`, async () => {
      const { borrow, give, input, output } = pool();
      const s = borrow();
      const streams = [s];
      try {
        // Written with no 'data' listener: the output stays buffered in the stream.
        await new Promise<void>((resolve) => s.write(input, () => resolve()));
        assert.ok(s.readableLength > 0);
        give(s);
        assert.equal(s.destroyed, true, 'closed, not pooled');
        const next = borrow();
        streams.push(next);
        assert.notEqual(next, s);
        assert.deepEqual(await through(next, input), output);
      } finally {
        closeAll(...streams);
      }
    });

    it(`${kind}: a stream handed back while a write is still in the thread pool is closed; that write ends without output`, async () => {
      const { borrow, give, input } = pool();
      const s = borrow();
      const streams = [s];
      try {
        let data = 0;
        s.on('data', () => data++);
        s.on('error', () => {}); // whatever the closed stream reports for the write, it is not the test's
        const written = new Promise<unknown>((resolve) => s.write(input, resolve));
        assert.ok(s.writableLength > 0, 'the write is pending');
        give(s);
        assert.equal(s.destroyed, true, 'closed, not reset under the running write');
        const next = borrow();
        streams.push(next);
        assert.notEqual(next, s);
        await Promise.race([written, once(s, 'close')]);
        assert.equal(data, 0, 'nothing reached the old listener after it was handed back');
      } finally {
        closeAll(...streams);
      }
    });

    it(`${kind}: a stream handed back after end() is closed (its writable side cannot be revived)`, () => {
      const { borrow, give } = pool();
      const s = borrow();
      const streams = [s];
      try {
        s.on('data', () => {});
        s.end();
        assert.equal(s.readableEnded, false, 'not ended yet on its readable side');
        give(s);
        assert.equal(s.destroyed, true);
        const next = borrow();
        streams.push(next);
        assert.notEqual(next, s);
        assert.equal(next.writableEnded, false);
      } finally {
        closeAll(...streams);
      }
    });
  }
});
