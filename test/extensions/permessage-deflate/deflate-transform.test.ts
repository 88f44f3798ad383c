// The permessage-deflate transform (RFC 7692 section 7.2) on its own, no
// sockets: round trips across sizes and context-takeover modes, the exact
// bytes of the RFC's examples, the trailer rule, invalid data (1007), a
// decompression bomb (1009 within bounded memory), dispose() while zlib
// works, and how the transform uses the process-wide concurrency limiter
// (the limiter itself: zlib-limiter.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, inflateRawSync } from 'node:zlib';
import { DEFLATE_DEFAULTS, DeflateTransform, type DeflateAgreement, type PerMessageDeflateOptions } from '../../../src/extensions/permessage-deflate/index.js';
import { SYNC_ZLIB_LIMIT } from '../../../src/extensions/permessage-deflate/deflate-transform.js';
import { sharedLimiter } from '../../../src/extensions/permessage-deflate/zlib-limiter.js';
import { CloseCode } from '../../../src/protocol/close-code.js';
import { ProtocolError } from '../../../src/protocol/errors.js';
import { GiB, KiB, MiB, compressible, decode, decodeOk, encode, zeroBomb } from './helpers.js';
import { hex, pseudoRandomBytes, sha256 } from '../../support/bytes.js';

const TIMEOUT = 60_000;
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

const NO_TAKEOVER: DeflateAgreement = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const TAKEOVER: DeflateAgreement = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** Both ends of one connection. */
function pair(agreement: DeflateAgreement, options: PerMessageDeflateOptions = {}): { server: DeflateTransform; client: DeflateTransform; dispose(): void } {
  const server = new DeflateTransform('server', agreement, options);
  const client = new DeflateTransform('client', agreement, options);
  return {
    server,
    client,
    dispose() {
      server.dispose();
      client.dispose();
    },
  };
}

describe('round trips', () => {
  const sizes = [0, 1, 1023, 1024, 64 * KiB, MiB];
  for (const [mode, agreement] of [
    ['no context takeover', NO_TAKEOVER],
    ['context takeover', TAKEOVER],
  ] as const) {
    for (const kind of ['random-ish', 'compressible'] as const) {
      test(`${mode}, ${kind}: sizes ${sizes.join(', ')} both ways, three messages each`, { timeout: TIMEOUT }, async () => {
        const { server, client, dispose } = pair(agreement);
        try {
          for (const size of sizes) {
            for (let i = 0; i < 3; i++) {
              const data = kind === 'random-ish' ? pseudoRandomBytes(size, size * 31 + i) : compressible(size, i * 1000);
              assert.equal(data.length, size);
              const down = await encode(server, data);
              assert.equal(sha256(await decodeOk(client, down)), sha256(data), `server -> client, ${size} bytes, message ${i}`);
              const up = await encode(client, data);
              assert.equal(sha256(await decodeOk(server, up)), sha256(data), `client -> server, ${size} bytes, message ${i}`);
              if (kind === 'compressible' && size >= 1024) assert.ok(down.length < size / 4, `${size} compressible bytes -> ${down.length}`);
              if (kind === 'random-ish' && size >= 1024) assert.ok(down.length >= size, `random-ish ${size} bytes do not shrink (${down.length})`);
            }
          }
        } finally {
          dispose();
        }
      });
    }
  }

  test('the output is a plain raw DEFLATE stream: zlib alone inflates it (trailer appended)', { timeout: TIMEOUT }, async () => {
    const { server, dispose } = pair(NO_TAKEOVER);
    try {
      const data = compressible(100 * KiB);
      const encoded = await encode(server, data);
      assert.ok(inflateRawSync(Buffer.concat([encoded, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH }).equals(data));
    } finally {
      dispose();
    }
  });

  test('the received payload may come in many pieces (one per frame)', { timeout: TIMEOUT }, async () => {
    const { server, client, dispose } = pair(TAKEOVER);
    try {
      const data = compressible(200 * KiB);
      const encoded = await encode(server, data);
      const pieces: Buffer[] = [];
      for (let i = 0; i < encoded.length; i += 7) pieces.push(encoded.subarray(i, i + 7));
      assert.ok((await decodeOk(client, pieces)).equals(data));
    } finally {
      dispose();
    }
  });
});

describe('context takeover', () => {
  test('with takeover, a repeated message compresses to a few bytes; both decode in order', { timeout: TIMEOUT }, async () => {
    const { server, client, dispose } = pair(TAKEOVER);
    try {
      const data = pseudoRandomBytes(8 * KiB, 42);
      const first = await encode(server, data);
      const second = await encode(server, data);
      assert.ok(first.length > 8 * KiB, `first: ${first.length} bytes`);
      assert.ok(second.length < 128, `second refers back to the first: ${second.length} bytes`);
      assert.ok((await decodeOk(client, first)).equals(data));
      assert.ok((await decodeOk(client, second)).equals(data));
    } finally {
      dispose();
    }
  });

  test('without takeover, every message starts afresh: identical messages give identical bytes', { timeout: TIMEOUT }, async () => {
    const { server, client, dispose } = pair(NO_TAKEOVER);
    try {
      const data = pseudoRandomBytes(8 * KiB, 42);
      const first = await encode(server, data);
      const second = await encode(server, data);
      assert.ok(first.length > 8 * KiB);
      assert.deepEqual(second, first);
      // Each decodes on its own (the receiver keeps no window either).
      assert.ok((await decodeOk(client, second)).equals(data));
      assert.ok((await decodeOk(client, first)).equals(data));
    } finally {
      dispose();
    }
  });

  test('directions are independent: server takeover, client none', { timeout: TIMEOUT }, async () => {
    const agreement: DeflateAgreement = { ...TAKEOVER, clientNoContextTakeover: true };
    const { server, client, dispose } = pair(agreement);
    try {
      const data = pseudoRandomBytes(4 * KiB, 7);
      const s1 = await encode(server, data);
      const s2 = await encode(server, data);
      const c1 = await encode(client, data);
      const c2 = await encode(client, data);
      assert.ok(s2.length < 128 && s1.length > 4 * KiB, 'server keeps its window');
      assert.deepEqual(c2, c1, 'client starts each message afresh');
      for (const m of [s1, s2]) assert.ok((await decodeOk(client, m)).equals(data));
      for (const m of [c2, c1]) assert.ok((await decodeOk(server, m)).equals(data));
    } finally {
      dispose();
    }
  });
});

describe('exact bytes (RFC 7692 7.2.3)', () => {
  test('"Hello" with fin: the 00 00 ff ff of the sync flush is removed (7.2.3.1)', async () => {
    const { server, dispose } = pair(NO_TAKEOVER);
    try {
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'));
    } finally {
      dispose();
    }
  });

  test('a non-final fragment keeps its 00 00 ff ff; the pieces decode as one message', async () => {
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      const { server, client, dispose } = pair(agreement);
      try {
        const head = await encode(server, Buffer.from('Hel'), false);
        assert.deepEqual(head.subarray(head.length - 4), TRAILER, 'non-final fragment ends with the sync-flush marker');
        const tail = await encode(server, Buffer.from('lo'), true);
        assert.notDeepEqual(tail.subarray(tail.length - 4), TRAILER, 'final fragment has it removed');
        assert.equal((await decodeOk(client, [head, tail])).toString(), 'Hello');
        // The next message is whole again.
        assert.equal((await decodeOk(client, await encode(server, Buffer.from('Hello')))).toString(), 'Hello');
      } finally {
        dispose();
      }
    }
  });

  test('an empty message encodes to the single byte 00 (7.2.3.6) and decodes to nothing', async () => {
    const { server, client, dispose } = pair(NO_TAKEOVER);
    try {
      const encoded = await encode(server, Buffer.alloc(0));
      assert.deepEqual(encoded, hex('00'));
      assert.equal((await decodeOk(client, encoded)).length, 0);
      assert.equal((await decodeOk(client, Buffer.alloc(0))).length, 0, 'an empty payload too');
    } finally {
      dispose();
    }
  });

  test('every example of the RFC decodes to "Hello"', async () => {
    const examples = {
      '7.2.3.1 one compressed block': 'f2 48 cd c9 c9 07 00',
      '7.2.3.3 a block with no compression': '00 05 00 fa ff 48 65 6c 6c 6f 00',
      '7.2.3.4 a block with BFINAL set': 'f3 48 cd c9 c9 07 00 00',
      '7.2.3.5 two blocks': 'f2 48 05 00 00 00 ff ff ca c9 c9 07 00',
    };
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      const { client, dispose } = pair(agreement);
      try {
        for (const [name, bytes] of Object.entries(examples)) {
          assert.equal((await decodeOk(client, hex(bytes))).toString(), 'Hello', name);
        }
      } finally {
        dispose();
      }
    }
  });

  test('7.2.3.2 sharing the window: the second "Hello" is f2 00 11 00 00 with takeover', async () => {
    const { server, client, dispose } = pair(TAKEOVER);
    try {
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'));
      assert.deepEqual(await encode(server, Buffer.from('Hello')), hex('f2 00 11 00 00'));
      assert.equal((await decodeOk(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
      assert.equal((await decodeOk(client, hex('f2 00 11 00 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('after a BFINAL message, later messages still decode (takeover: the stream is renewed)', async () => {
    const { client, dispose } = pair(TAKEOVER);
    try {
      assert.equal((await decodeOk(client, hex('f3 48 cd c9 c9 07 00 00'))).toString(), 'Hello');
      assert.equal((await decodeOk(client, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
      assert.equal((await decodeOk(client, hex('f2 00 11 00 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('a BFINAL message on one connection does not spoil pooled inflaters for others', async () => {
    const a = pair(NO_TAKEOVER);
    const b = pair(NO_TAKEOVER);
    try {
      assert.equal((await decodeOk(a.server, hex('f3 48 cd c9 c9 07 00 00'))).toString(), 'Hello');
      for (let i = 0; i < 3; i++) assert.equal((await decodeOk(b.server, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('invalid input and limits', () => {
  test('invalid DEFLATE data fails with ProtocolError 1007', async () => {
    const invalid = {
      'reserved block type 11': hex('ff ff ff'),
      'stored block with a bad length complement': hex('00 05 00 00 00 48 65 6c 6c 6f'),
      'distance beyond the start of the window': hex('f2 00 11 00 00'),
    };
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      for (const [name, bytes] of Object.entries(invalid)) {
        const { server, dispose } = pair(agreement);
        try {
          const { error, data } = await decode(server, bytes);
          assert.ok(error instanceof ProtocolError, name);
          assert.equal(error.closeCode, CloseCode.InvalidFramePayloadData, name);
          assert.equal(error.code, 'WS_ERR_INVALID_COMPRESSED_DATA', name);
          assert.match(error.message, /^Invalid compressed data: /);
          assert.equal(data, undefined);
        } finally {
          dispose();
        }
      }
    }
    // The pools were not spoiled by the failures.
    const { server, dispose } = pair(NO_TAKEOVER);
    try {
      assert.equal((await decodeOk(server, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
    } finally {
      dispose();
    }
  });

  test('maxPayload: exactly the limit passes, one byte more fails with 1009', async () => {
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      const { server, client, dispose } = pair(agreement);
      try {
        const limit = 100 * KiB;
        const ok = await decode(server, await encode(client, compressible(limit)), limit);
        assert.equal(ok.error, null);
        assert.equal(ok.data!.length, limit);
        const over = await decode(server, await encode(client, compressible(limit + 1)), limit);
        assert.ok(over.error instanceof ProtocolError);
        assert.equal(over.error.closeCode, CloseCode.MessageTooBig);
        assert.equal(over.error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
        assert.equal(over.data, undefined);
      } finally {
        dispose();
      }
    }
  });

  for (const [mode, agreement] of [
    ['pooled inflater', NO_TAKEOVER],
    ['takeover inflater', TAKEOVER],
  ] as const) {
    test(`decompression bomb (1 MiB -> 1 GiB) with maxPayload 1 MiB: 1009, memory bounded (${mode})`, { timeout: TIMEOUT }, async () => {
      const bomb = await zeroBomb(1024);
      assert.ok(bomb.payload.length < 1.1 * MiB, `bomb is ${bomb.payload.length} bytes`);
      assert.equal(bomb.inflatedBytes, GiB);
      const { server, dispose } = pair(agreement);
      try {
        for (const payload of [bomb.payload, bomb.segments]) {
          const before = process.memoryUsage();
          const peak = { rss: before.rss, arrayBuffers: before.arrayBuffers };
          let sampling = true;
          const sample = (): void => {
            const m = process.memoryUsage();
            peak.rss = Math.max(peak.rss, m.rss);
            peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
            if (sampling) setImmediate(sample);
          };
          setImmediate(sample);
          let result;
          try {
            result = await decode(server, payload, MiB);
          } finally {
            sampling = false;
          }
          sample();
          assert.ok(result.error instanceof ProtocolError);
          assert.equal(result.error.closeCode, CloseCode.MessageTooBig);
          assert.equal(result.error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
          const grew = { rss: (peak.rss - before.rss) / MiB, arrayBuffers: (peak.arrayBuffers - before.arrayBuffers) / MiB };
          assert.ok(grew.rss < 64, `rss grew by ${grew.rss.toFixed(1)} MiB`);
          assert.ok(grew.arrayBuffers < 64, `arrayBuffers grew by ${grew.arrayBuffers.toFixed(1)} MiB`);
        }
        // A well-formed message still decodes afterwards (takeover: a new inflater).
        assert.equal((await decodeOk(server, hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello');
      } finally {
        dispose();
      }
    });
  }

  test('a corrupt message ends the same way (1007 or 1009) however its bytes were split', { timeout: TIMEOUT }, async () => {
    // zlib keeps no output of an inflate call that fails, so how much of a bad message inflates
    // before its error can depend on where writes begin and end: with maxPayload in between, it
    // decided between 1009 and 1007 (found by the core fuzzer).
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      const { server, client, dispose } = pair(agreement);
      try {
        const mixed = Buffer.concat(Array.from({ length: 64 }, (_, i) => (i % 2 ? pseudoRandomBytes(4 * KiB, i) : compressible(4 * KiB, i))));
        const good = await encode(client, mixed);
        assert.ok(good.length > SYNC_ZLIB_LIMIT, 'large enough for the asynchronous path');
        // Corruptions past the middle that make the data invalid (most only change the output): the first three.
        const corrupt: Buffer[] = [];
        for (let at = good.length >> 1; at < good.length - 4 && corrupt.length < 3; at += 97) {
          const candidate = Buffer.from(good);
          for (let k = 0; k < 4; k++) candidate[at + k] = candidate[at + k]! ^ 0xff;
          try {
            inflateRawSync(Buffer.concat([candidate, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH });
          } catch {
            corrupt.push(candidate);
          }
        }
        assert.equal(corrupt.length, 3);
        for (const bad of corrupt) {
          const splits = [1000, 4096, 30_000, 65_536].map((size) => Array.from({ length: Math.ceil(bad.length / size) }, (_, i) => bad.subarray(i * size, (i + 1) * size)));
          for (let max = 8 * KiB; max <= mixed.length; max += 8 * KiB) {
            const ends = new Set<string>();
            for (const pieces of [[bad], ...splits]) {
              const { error } = await decode(server, pieces, max);
              ends.add(error === null ? 'ok' : String(error.closeCode));
            }
            assert.equal(ends.size, 1, `maxPayload ${max}: ${[...ends].join(' or ')}`);
          }
        }
      } finally {
        dispose();
      }
    }
  });

  test("a message compresses to the same bytes whatever a pooled stream compressed before (no repeated flush marker)", { timeout: TIMEOUT }, async () => {
    // zlib repeats the sync flush marker (an empty stored block, 5 bytes) when a flush ends exactly
    // where its output buffer does, and Node's output buffer keeps its offset from the stream's
    // earlier output: a pooled stream's history decided (found by the core fuzzer). A 64-byte
    // chunkSize makes such an end likely within a few dozen histories.
    const options: PerMessageDeflateOptions = { zlibDeflateOptions: { chunkSize: 64 } };
    const message = compressible(2 * SYNC_ZLIB_LIMIT, 3);
    const outputs = new Set<string>();
    for (let k = 0; k < 64; k++) {
      const t = new DeflateTransform('server', NO_TAKEOVER, options);
      try {
        await encode(t, compressible(2 * SYNC_ZLIB_LIMIT + k * 7, k)); // leaves the pooled stream's output offset somewhere
        const out = await encode(t, message);
        outputs.add(sha256(out));
        assert.deepEqual(inflateRawSync(Buffer.concat([out, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH }), message);
      } finally {
        t.dispose();
      }
    }
    assert.equal(outputs.size, 1);
  });

  test('shouldEncode applies the threshold (default 1024 bytes)', () => {
    const { server, dispose } = pair(NO_TAKEOVER);
    const custom = new DeflateTransform('server', NO_TAKEOVER, { threshold: 0 });
    try {
      assert.equal(server.shouldEncode(1023), false);
      assert.equal(server.shouldEncode(1024), true);
      assert.equal(custom.shouldEncode(0), true);
    } finally {
      dispose();
      custom.dispose();
    }
  });
});

describe('dispose and the concurrency limiter', () => {
  // Transforms created with a concurrencyLimit share that limit's process-wide
  // limiter; limits 1 and 2 are used only by this file's tests, which run one
  // at a time. Small messages without context takeover skip the limiter (the
  // synchronous fast path): the messages here inflate to more than
  // SYNC_ZLIB_LIMIT bytes, or are encoded from more, so they take the pool.
  const ONE = { concurrencyLimit: 1 };
  const ASYNC_SIZE = 2 * SYNC_ZLIB_LIMIT;

  test('dispose() during a running decode: its callback never comes, its slot is released', { timeout: TIMEOUT }, async () => {
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      const limiter = sharedLimiter(1);
      // One sender per receiver: with takeover, each receiver must see its sender's whole stream.
      const sender = new DeflateTransform('client', agreement, {});
      const sender2 = new DeflateTransform('client', agreement, {});
      const a = new DeflateTransform('server', agreement, ONE);
      const b = new DeflateTransform('server', agreement, ONE);
      try {
        const big = await encode(sender, compressible(4 * MiB));
        const calls: string[] = [];
        a.decode([big], 0, () => calls.push('a'));
        assert.equal(limiter.active, 1, 'a is running');
        a.dispose();
        const message = await encode(sender2, compressible(ASYNC_SIZE, 5));
        // b can only run once a's slot is free; a would have been called before b starts.
        const got = await decodeOk(b, message);
        assert.ok(got.equals(compressible(ASYNC_SIZE, 5)));
        assert.deepEqual(calls, []);
        assert.equal(limiter.active, 0);
        assert.equal(limiter.waiting, 0);
      } finally {
        sender.dispose();
        sender2.dispose();
        a.dispose();
        b.dispose();
      }
    }
  });

  test('dispose() while queued: the job is skipped, later jobs run in order', { timeout: TIMEOUT }, async () => {
    const limiter = sharedLimiter(1);
    const sender = new DeflateTransform('client', NO_TAKEOVER, {});
    const [a, b, c] = [0, 1, 2].map(() => new DeflateTransform('server', NO_TAKEOVER, ONE)) as [DeflateTransform, DeflateTransform, DeflateTransform];
    try {
      const m = await encode(sender, compressible(256 * KiB));
      const calls: string[] = [];
      const done = new Promise<void>((resolve) => {
        a.decode([m], 0, (e) => calls.push(`a:${e === null}`));
        b.decode([m], 0, () => calls.push('b'));
        c.decode([m], 0, (e, d) => {
          calls.push(`c:${e === null && d!.length === 256 * KiB}`);
          resolve();
        });
      });
      assert.deepEqual({ active: limiter.active, waiting: limiter.waiting }, { active: 1, waiting: 2 });
      b.dispose();
      await done;
      assert.deepEqual(calls, ['a:true', 'c:true']);
      assert.deepEqual({ active: limiter.active, waiting: limiter.waiting }, { active: 0, waiting: 0 });
    } finally {
      sender.dispose();
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  test('a transform built directly (no options check) refuses a concurrencyLimit that is not an integer >= 1, 0 or Infinity', () => {
    // 1.5 would let two run under a limiter keyed 1.5.
    for (const concurrencyLimit of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new DeflateTransform('server', NO_TAKEOVER, { concurrencyLimit }), RangeError, String(concurrencyLimit));
    }
  });

  test('concurrencyLimit 0 (as ws: no limit): every decode starts at once, none waits', { timeout: TIMEOUT }, async () => {
    const unlimited = sharedLimiter(0);
    assert.equal(unlimited, sharedLimiter(Number.POSITIVE_INFINITY), '0 and Infinity are the same limiter');
    const sender = new DeflateTransform('client', NO_TAKEOVER, {});
    const receivers = Array.from({ length: 2 * DEFLATE_DEFAULTS.concurrencyLimit }, () => new DeflateTransform('server', NO_TAKEOVER, { concurrencyLimit: 0 }));
    try {
      const message = await encode(sender, compressible(ASYNC_SIZE, 9));
      const decoded = receivers.map((r) => decodeOk(r, message));
      assert.deepEqual({ active: unlimited.active, waiting: unlimited.waiting }, { active: receivers.length, waiting: 0 });
      for (const got of await Promise.all(decoded)) assert.ok(got.equals(compressible(ASYNC_SIZE, 9)));
      assert.equal(unlimited.active, 0);
    } finally {
      sender.dispose();
      for (const r of receivers) r.dispose();
    }
  });

  test('50,000 jobs of a disposed transform waiting behind a busy slot all release at once, without overflowing the stack', { timeout: TIMEOUT }, async () => {
    // The limiter once started each next job from the release() before it:
    // these jobs, which release as they start, nested one frame each and threw
    // RangeError from the busy encode's zlib callback, losing a slot for good.
    const limiter = sharedLimiter(1);
    const busy = new DeflateTransform('server', NO_TAKEOVER, ONE);
    const gone = new DeflateTransform('server', NO_TAKEOVER, ONE);
    const after = new DeflateTransform('server', NO_TAKEOVER, ONE);
    try {
      const pending = encode(busy, compressible(4 * MiB));
      assert.equal(limiter.active, 1);
      gone.dispose();
      // Above SYNC_ZLIB_LIMIT: past the fast path, so each call queues a job (the same buffer each time).
      const payload = [compressible(ASYNC_SIZE)];
      let called = 0;
      for (let i = 0; i < 50_000; i++) gone.decode(payload, 0, () => called++);
      assert.deepEqual({ active: limiter.active, waiting: limiter.waiting }, { active: 1, waiting: 50_000 });
      await pending;
      assert.deepEqual({ active: limiter.active, waiting: limiter.waiting }, { active: 0, waiting: 0 });
      assert.equal(called, 0);
      // No slot lost: the next large message goes through.
      assert.ok((await encode(after, compressible(ASYNC_SIZE))).length > 0);
      assert.equal(limiter.active, 0);
    } finally {
      busy.dispose();
      gone.dispose();
      after.dispose();
    }
  });

  test('dispose() during an encode: its callback never comes, its slot is released', { timeout: TIMEOUT }, async () => {
    for (const agreement of [NO_TAKEOVER, TAKEOVER]) {
      const limiter = sharedLimiter(1);
      const a = new DeflateTransform('server', agreement, ONE);
      const b = new DeflateTransform('server', agreement, ONE);
      try {
        const calls: string[] = [];
        a.encode(compressible(4 * MiB), true, () => calls.push('a'));
        a.dispose();
        // b's large message can only be encoded once a's slot is free.
        assert.ok((await encode(b, compressible(ASYNC_SIZE))).length > 0);
        const encoded = await encode(b, Buffer.from('Hello'));
        assert.deepEqual(encoded, hex('f2 48 cd c9 c9 07 00'));
        assert.deepEqual(calls, []);
        assert.equal(limiter.active, 0);
      } finally {
        a.dispose();
        b.dispose();
      }
    }
  });

  test('decodes from many connections complete in FIFO order under the limit', { timeout: TIMEOUT }, async () => {
    const sender = new DeflateTransform('client', NO_TAKEOVER, {});
    const receivers = Array.from({ length: 6 }, () => new DeflateTransform('server', NO_TAKEOVER, ONE));
    try {
      // Big first, small last: without the FIFO limiter the small ones would finish first.
      const sizes = [2 * MiB, 1 * MiB, 512 * KiB, 256 * KiB, 128 * KiB, SYNC_ZLIB_LIMIT + 1];
      // One encode at a time per transform, as the core's send queue guarantees.
      const messages: Buffer[] = [];
      for (const [i, n] of sizes.entries()) messages.push(await encode(sender, compressible(n, i)));
      const order: number[] = [];
      await Promise.all(
        receivers.map(
          (r, i) =>
            new Promise<void>((resolve) =>
              r.decode([messages[i]!], 0, (error, data) => {
                assert.equal(error, null);
                assert.equal(data!.length, sizes[i]);
                order.push(i);
                resolve();
              }),
            ),
        ),
      );
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    } finally {
      sender.dispose();
      for (const r of receivers) r.dispose();
    }
  });
});

describe('synchronous fast path (small messages, no context takeover)', () => {
  /** Runs `fn` with a callback; reports whether it was called before `fn` returned, and with what. */
  function callNow<T extends unknown[]>(fn: (cb: (...args: T) => void) => void): { sync: boolean; args: Promise<T> } {
    let sync = false;
    let returned = false;
    const args = new Promise<T>((resolve) =>
      fn((...a) => {
        if (!returned) sync = true;
        resolve(a);
      }),
    );
    returned = true;
    return { sync, args };
  }

  test('a message of at most SYNC_ZLIB_LIMIT bytes is encoded and decoded at once, without the limiter', { timeout: TIMEOUT }, async () => {
    const limiter = sharedLimiter(1);
    const { server, client, dispose } = pair(NO_TAKEOVER, { concurrencyLimit: 1 });
    const busy = new DeflateTransform('server', NO_TAKEOVER, { concurrencyLimit: 1 });
    try {
      // Occupy the only slot: the fast path must not wait for it.
      const pending = encode(busy, compressible(4 * MiB));
      assert.equal(limiter.active, 1);
      for (const size of [1024, 16 * KiB, SYNC_ZLIB_LIMIT]) {
        const data = compressible(size, size);
        const enc = callNow<[Error | null, Buffer?]>((cb) => server.encode(data, true, cb));
        assert.equal(enc.sync, true, `encode ${size}`);
        const [encError, encoded] = await enc.args;
        assert.equal(encError, null);
        // Plain raw DEFLATE without the trailer, as the asynchronous path gives.
        assert.ok(inflateRawSync(Buffer.concat([encoded!, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH }).equals(data));
        const dec = callNow<[ProtocolError | null, Buffer?]>((cb) => client.decode([encoded!], 0, cb));
        assert.equal(dec.sync, true, `decode ${size}`);
        const [decError, decoded] = await dec.args;
        assert.equal(decError, null);
        assert.ok(decoded!.equals(data));
      }
      await pending;
      assert.equal(limiter.active, 0);
    } finally {
      dispose();
      busy.dispose();
    }
  });

  test('larger messages, and everything with context takeover, stay asynchronous', { timeout: TIMEOUT }, async () => {
    const big = compressible(SYNC_ZLIB_LIMIT + 1);
    const { server, client, dispose } = pair(NO_TAKEOVER);
    const takeover = pair(TAKEOVER);
    try {
      const enc = callNow<[Error | null, Buffer?]>((cb) => server.encode(big, true, cb));
      assert.equal(enc.sync, false);
      const encoded = (await enc.args)[1]!;
      // The compressed input is small, but the output is above the limit: inflated in the thread pool.
      assert.ok(encoded.length < SYNC_ZLIB_LIMIT);
      for (const maxPayload of [0, 10 * MiB, SYNC_ZLIB_LIMIT + 1]) {
        const dec = callNow<[ProtocolError | null, Buffer?]>((cb) => client.decode([encoded], maxPayload, cb));
        assert.equal(dec.sync, false);
        const [error, data] = await dec.args;
        assert.equal(error, null);
        assert.ok(data!.equals(big));
      }
      const small = compressible(1024);
      const tEnc = callNow<[Error | null, Buffer?]>((cb) => takeover.server.encode(small, true, cb));
      assert.equal(tEnc.sync, false);
      const tEncoded = (await tEnc.args)[1]!;
      const tDec = callNow<[ProtocolError | null, Buffer?]>((cb) => takeover.client.decode([tEncoded], 0, cb));
      assert.equal(tDec.sync, false);
      assert.ok((await tDec.args)[1]!.equals(small));
    } finally {
      dispose();
      takeover.dispose();
    }
  });

  test('on the fast path: maxPayload exceeded -> 1009, invalid data -> 1007, at once', { timeout: TIMEOUT }, async () => {
    const { server, client, dispose } = pair(NO_TAKEOVER);
    try {
      const encoded = await encode(client, compressible(2000));
      const ok = callNow<[ProtocolError | null, Buffer?]>((cb) => server.decode([encoded], 2000, cb));
      assert.equal(ok.sync, true);
      assert.equal((await ok.args)[1]!.length, 2000);
      const over = callNow<[ProtocolError | null, Buffer?]>((cb) => server.decode([encoded], 1999, cb));
      assert.equal(over.sync, true);
      const [overError, overData] = await over.args;
      assert.ok(overError instanceof ProtocolError);
      assert.equal(overError.closeCode, CloseCode.MessageTooBig);
      assert.equal(overData, undefined);
      const bad = callNow<[ProtocolError | null, Buffer?]>((cb) => server.decode([hex('ff ff ff')], 0, cb));
      assert.equal(bad.sync, true);
      const [badError] = await bad.args;
      assert.ok(badError instanceof ProtocolError);
      assert.equal(badError.closeCode, CloseCode.InvalidFramePayloadData);
      // A small bomb (~32 KiB -> 32 MiB) with maxPayload 1 MiB: 1009.
      const { payload } = await zeroBomb(32);
      assert.ok(payload.length <= SYNC_ZLIB_LIMIT);
      const bomb = await decode(server, payload, MiB);
      assert.ok(bomb.error instanceof ProtocolError);
      assert.equal(bomb.error.closeCode, CloseCode.MessageTooBig);
      // After a disposal the fast path calls nothing either. encode() returns
      // at once without calling; decode() skips the fast path and hands the
      // limiter a job that sees the disposal and releases its slot at once.
      // With the limiter back where it was, no job is left that could call
      // back later: checked right away, no waiting.
      server.dispose();
      const limiter = sharedLimiter(DEFLATE_DEFAULTS.concurrencyLimit); // pair() passes no concurrencyLimit
      const before = { active: limiter.active, waiting: limiter.waiting };
      let called = false;
      server.decode([encoded], 0, () => (called = true));
      server.encode(compressible(2000), true, () => (called = true));
      assert.deepEqual({ active: limiter.active, waiting: limiter.waiting }, before, 'no zlib job left pending');
      assert.equal(called, false);
    } finally {
      dispose();
    }
  });
});
