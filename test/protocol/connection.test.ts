import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { Connection, type ConnectionHandler, type ConnectionOutput } from '../../src/protocol/connection.js';
import type { MessageTransform } from '../../src/protocol/extension.js';
import { Cause, Phase } from '../../src/protocol/lifecycle.js';
import { DEFAULTS, resolveSettings, type ConnectionOptions } from '../../src/protocol/options.js';
import { PreparedMessage } from '../../src/protocol/sender.js';
import type { WriteCallback } from '../../src/protocol/send-queue.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Opcode } from '../../src/protocol/opcode.js';
import { MASK, ManualTransform, buildFrame, clientFrame, closePayload, decodeFrames, serverFrame, type BuildOptions } from './helpers.js';

type HarnessOptions = ConnectionOptions & { extension?: MessageTransform | null };

type Event =
  | ['message', Buffer | Buffer[], boolean]
  | ['ping', Buffer]
  | ['pong', Buffer]
  | ['close', number, Buffer]
  | ['fail', ProtocolError];

/**
 * A Connection wired to a recording handler and output (the test plays the
 * peer). Inputs are copied before feeding: the parser unmasks in place.
 */
class Harness implements ConnectionHandler, ConnectionOutput {
  readonly conn: Connection;
  events: Event[] = [];
  /** Bytes written since the last takeSent (or assertion on sent frames). */
  writes: Buffer[] = [];
  callbacks: Array<WriteCallback | undefined> = [];
  closeTransportCalls = 0;
  congested = false;
  /** Run inside onMessage (to test re-entrant calls). */
  onMessageHook: ((data: Buffer | Buffer[], isBinary: boolean) => void) | null = null;
  /** Run inside onPing / onPong. */
  onControlHook: (() => void) | null = null;

  constructor(options: Partial<HarnessOptions> = {}) {
    this.conn = new Connection(resolveSettings({ role: 'server', ...options }), this, this, options.extension ?? null);
  }

  // ConnectionHandler
  onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    this.events.push(['message', data, isBinary]);
    this.onMessageHook?.(data, isBinary);
  }
  onPing(payload: Buffer): void {
    this.events.push(['ping', Buffer.from(payload)]);
    this.onControlHook?.();
  }
  onPong(payload: Buffer): void {
    this.events.push(['pong', Buffer.from(payload)]);
    this.onControlHook?.();
  }
  onCloseFrame(code: number, reason: Buffer): void {
    this.events.push(['close', code, Buffer.from(reason)]);
  }
  onFail(error: ProtocolError): void {
    this.events.push(['fail', error]);
  }

  // ConnectionOutput
  write(data: Buffer, cb?: (error?: Error | null) => void): void {
    this.writes.push(Buffer.from(data));
    this.callbacks.push(cb);
  }
  closeTransport(): void {
    this.closeTransportCalls++;
  }
  isCongested(): boolean {
    return this.congested;
  }

  /** Feed bytes from the peer (a fresh copy of each piece). */
  receive(...pieces: Buffer[]): this {
    for (const p of pieces) this.conn.receiveData(Buffer.from(p));
    return this;
  }

  /** Take the written bytes and clear. */
  takeSent(): Buffer {
    const all = Buffer.concat(this.writes);
    this.writes = [];
    this.callbacks = [];
    return all;
  }

  /** The exact bytes written since the last check are these frames, in order. */
  assertFramesSent(...frames: Buffer[]): void {
    assert.deepEqual(this.takeSent().toString('hex'), Buffer.concat(frames).toString('hex'));
  }

  /** Exactly one frame was sent: `opcode`, `payload`, fin, and masked with MASK iff client. */
  assertFrameSent(opcode: number, payload: Buffer | string = '', o: BuildOptions = {}): void {
    const mask = this.conn.settings.role === 'client' ? MASK : null;
    this.assertFramesSent(buildFrame(opcode, payload, { mask, ...o }));
  }

  assertNothingSent(): void {
    assert.equal(this.takeSent().length, 0, 'nothing should have been sent');
  }

  /** Only these events since the last check (and clear). */
  assertEvents(...expected: Event[]): void {
    assert.deepEqual(this.events, expected);
    this.events = [];
  }

  /** Messages as [text, isBinary]; other events by name only. */
  assertMessages(...expected: Array<[string, boolean] | Event[0]>): void {
    assert.deepEqual(
      this.events.map((e) => (e[0] === 'message' ? [Buffer.concat([e[1]].flat()).toString(), e[2]] : e[0])),
      expected,
    );
    this.events = [];
  }

  /**
   * The connection failed with `closeCode` (and `errorCode`): one fail event,
   * a Close frame carrying that code sent, state closed, transport closed once.
   */
  assertConnectionFailed(closeCode: number, errorCode?: string, options: { closeAlreadySent?: boolean } = {}): ProtocolError {
    const fails = this.events.filter((e) => e[0] === 'fail');
    assert.equal(fails.length, 1, `expected one fail event, got ${JSON.stringify(this.events.map((e) => e[0]))}`);
    const error = fails[0]![1] as ProtocolError;
    assert.equal(error.closeCode, closeCode, `close code (error ${error.code}: ${error.message})`);
    if (errorCode !== undefined) assert.equal(error.code, errorCode);
    assert.equal(this.conn.lifecycle.failure, error);
    assert.equal(this.conn.lifecycle.phase, Phase.Closing);
    assert.equal(this.closeTransportCalls, 1, 'closeTransport called once');
    const frames = decodeFrames(this.takeSent());
    if (options.closeAlreadySent) {
      assert.equal(frames.filter((f) => f.opcode === Opcode.Close).length, 0, 'no second Close frame');
    } else {
      const last = frames[frames.length - 1];
      assert.ok(last, 'a Close frame was sent');
      assert.equal(last.opcode, Opcode.Close);
      assert.equal(last.fin, true);
      assert.equal(last.masked, this.conn.settings.role === 'client');
      assert.equal(last.payload.readUInt16BE(0), closeCode);
      assert.ok(last.payload.length <= 125);
      assert.equal(this.conn.lifecycle.closeSent?.code, closeCode);
    }
    this.events = this.events.filter((e) => e[0] !== 'fail');
    return error;
  }
}

const server = (options: Partial<HarnessOptions> = {}): Harness => new Harness({ role: 'server', ...options });
const client = (options: Partial<HarnessOptions> = {}): Harness =>
  new Harness({ role: 'client', maskKeySource: () => Buffer.from(MASK), ...options });

const text = (s: string, o: BuildOptions = {}): Buffer => clientFrame(Opcode.Text, s, o);
const binary = (b: Buffer | string, o: BuildOptions = {}): Buffer => clientFrame(Opcode.Binary, b, o);
const cont = (s: Buffer | string, o: BuildOptions = {}): Buffer => clientFrame(Opcode.Continuation, s, o);

describe('Connection: receiving messages', () => {
  it('delivers a text message', () => {
    const h = server();
    h.receive(text('Hello'));
    h.assertEvents(['message', Buffer.from('Hello'), false]);
    h.assertNothingSent();
    assert.equal(h.conn.lifecycle.phase, Phase.Open);
  });

  it('delivers a binary message', () => {
    const h = server();
    h.receive(binary(Buffer.from([0, 1, 2, 0xff])));
    h.assertEvents(['message', Buffer.from([0, 1, 2, 0xff]), true]);
  });

  it('delivers empty text and binary messages', () => {
    const h = server();
    h.receive(text(''), binary(''));
    h.assertEvents(['message', Buffer.alloc(0), false], ['message', Buffer.alloc(0), true]);
  });

  it('client role: delivers unmasked server frames', () => {
    const h = client();
    h.receive(serverFrame(Opcode.Text, 'from server'));
    h.assertEvents(['message', Buffer.from('from server'), false]);
  });

  it('several messages in one chunk, and one message one byte at a time', () => {
    const h = server();
    h.receive(Buffer.concat([text('a'), binary('bc'), text('κόσμε')]));
    h.assertMessages(['a', false], ['bc', true], ['κόσμε', false]);
    const frame = text('byte by byte: κόσμε');
    for (let i = 0; i < frame.length; i++) h.receive(frame.subarray(i, i + 1));
    h.assertMessages(['byte by byte: κόσμε', false]);
  });

  it('delivers a 100 kB message split in odd chunks (64-bit length, masked)', () => {
    const h = server();
    const payload = Buffer.alloc(100_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const frame = binary(payload);
    for (let i = 0; i < frame.length; i += 4999) h.receive(frame.subarray(i, i + 4999));
    assert.equal(h.events.length, 1);
    assert.deepEqual(h.events[0], ['message', payload, true]);
  });

  it('a fragmented message is delivered once complete; an interleaved ping is answered at once with the same payload', () => {
    const h = server();
    h.receive(text('Hel', { fin: false }));
    h.assertEvents();
    h.receive(clientFrame(Opcode.Ping, 'are you there?'));
    h.assertFrameSent(Opcode.Pong, 'are you there?');
    h.assertEvents(['ping', Buffer.from('are you there?')]);
    h.receive(cont('', { fin: false }), cont('lo', { fin: false }));
    h.assertEvents();
    h.receive(cont(' world'));
    h.assertEvents(['message', Buffer.from('Hello world'), false]);
    h.assertNothingSent();
  });

  it('a fragmented binary message, all in one chunk with a pong in the middle', () => {
    const h = server();
    h.receive(Buffer.concat([binary('ab', { fin: false }), clientFrame(Opcode.Pong, 'p'), cont('cd')]));
    h.assertEvents(['pong', Buffer.from('p')], ['message', Buffer.from('abcd'), true]);
  });

  it('deliverFragments: a message comes as a list of buffers', () => {
    const h = server();
    h.conn.deliverFragments = true;
    h.receive(text('one'));
    const [ev] = h.events;
    assert.ok(Array.isArray(ev![1]));
    assert.equal(Buffer.concat(ev![1] as Buffer[]).toString(), 'one');
    h.events = [];
    h.receive(binary('ab', { fin: false }), cont('cd'));
    const [ev2] = h.events;
    assert.ok(Array.isArray(ev2![1]));
    assert.equal(Buffer.concat(ev2![1] as Buffer[]).toString(), 'abcd');
    assert.equal(ev2![2], true);
  });

  it('a message delivered earlier is not changed by later input', () => {
    const h = server();
    h.receive(text('first'), text('second', { fin: false }), cont('!'));
    h.receive(text('x'.repeat(300)));
    h.assertMessages(['first', false], ['second!', false], ['x'.repeat(300), false]);
  });

  it('a flood of 65,536 one-byte masked fragments of one message is delivered intact', () => {
    const h = server();
    const n = 65_536;
    const expected = Buffer.alloc(n);
    const frames: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      expected[i] = i & 0xff;
      const opcode = i === 0 ? Opcode.Binary : Opcode.Continuation;
      frames.push(clientFrame(opcode, expected.subarray(i, i + 1), { fin: i === n - 1 }));
    }
    const wire = Buffer.concat(frames);
    // Half in one chunk, the rest in 1000-byte chunks.
    h.receive(wire.subarray(0, wire.length >>> 1));
    assert.equal(h.events.length, 0);
    for (let i = wire.length >>> 1; i < wire.length; i += 1000) h.receive(wire.subarray(i, i + 1000));
    assert.equal(h.events.length, 1, 'delivered once, not refused');
    assert.deepEqual(h.events[0], ['message', expected, true]);
    assert.equal(h.conn.lifecycle.failure, null);
    h.assertNothingSent();
  });

  it('a flood of one-byte text fragments (multi-byte characters split across frames) is valid', () => {
    const h = server();
    const msg = Buffer.from('κόσμε 𝄞 '.repeat(500));
    const frames: Buffer[] = [];
    for (let i = 0; i < msg.length; i++) {
      frames.push(clientFrame(i === 0 ? Opcode.Text : Opcode.Continuation, msg.subarray(i, i + 1), { fin: i === msg.length - 1 }));
    }
    h.receive(Buffer.concat(frames));
    h.assertMessages([msg.toString(), false]);
  });

  it('skipUTF8Validation delivers invalid text as is', () => {
    const h = server({ skipUTF8Validation: true });
    h.receive(clientFrame(Opcode.Text, Buffer.from([0xff, 0xfe])));
    assert.deepEqual(h.events[0], ['message', Buffer.from([0xff, 0xfe]), false]);
    h.receive(clientFrame(Opcode.Text, Buffer.from([0xc0, 0x80])));
    assert.deepEqual(h.events[1], ['message', Buffer.from([0xc0, 0x80]), false]);
    assert.equal(h.conn.lifecycle.failure, null);
  });
});

describe('Connection: large messages received into their final buffer', () => {
  const pattern = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >>> 9)) & 0xff;
    return b;
  };
  /** The receiver's private field holding the buffer the parser fills. */
  const receiverOf = (h: Harness) => (h.conn as unknown as { receiver: { direct: Buffer | null; parser: { target: Buffer | null } } | null }).receiver;
  const direct = (h: Harness): Buffer | null => receiverOf(h)?.direct ?? null;

  it('a 1 MiB masked message in 64 KiB reads: allocated once a quarter arrived, then filled by the parser', () => {
    const h = server();
    const payload = pattern(1 << 20);
    const frame = binary(payload);
    let switchedAt = -1;
    for (let i = 0; i < frame.length; i += 65_536) {
      h.receive(frame.subarray(i, i + 65_536));
      if (switchedAt === -1 && direct(h) !== null) switchedAt = i + 65_536;
    }
    // 4 reads carry 262,130 payload bytes (< 1/4 of 1 MiB); the 5th passes the quarter.
    assert.equal(switchedAt, 5 * 65_536);
    assert.equal(direct(h), null, 'released after delivery');
    assert.equal(h.events.length, 1);
    const [, data, isBinary] = h.events[0]!;
    assert.equal(isBinary, true);
    assert.ok(Buffer.isBuffer(data) && data.equals(payload));
    assert.equal((data as Buffer).byteOffset, 0);
    assert.equal((data as Buffer).buffer.byteLength >= payload.length, true);
  });

  it('a header announcing a large frame allocates nothing before a quarter of it arrived', () => {
    const h = server();
    const frame = binary(pattern(400_000));
    h.receive(frame.subarray(0, 14 + 99_999)); // just under a quarter
    assert.equal(direct(h), null);
    h.receive(frame.subarray(14 + 99_999, 14 + 100_000));
    assert.equal(direct(h)?.length, 400_000);
    h.receive(frame.subarray(14 + 100_000));
    assert.deepEqual(h.events, [['message', pattern(400_000), true]]);
  });

  it('any split of a masked or unmasked large message, also as the last fragment of a fragmented one, delivers the same bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8 * 1024, max: 200_000 }),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 3000 }),
        (size, cuts, asClient, firstFragment) => {
          const h = asClient ? client() : server();
          const payload = pattern(size);
          const frameOf = asClient ? (op: number, b: Buffer, o: BuildOptions = {}) => serverFrame(op, b, o) : (op: number, b: Buffer, o: BuildOptions = {}) => clientFrame(op, b, o);
          const stream = firstFragment > 0
            ? Buffer.concat([frameOf(Opcode.Binary, payload.subarray(0, firstFragment), { fin: false }), frameOf(Opcode.Continuation, payload.subarray(firstFragment))])
            : frameOf(Opcode.Binary, payload);
          let at = 0;
          for (let k = 0; at < stream.length; k++) {
            const n = cuts[k % cuts.length]!;
            h.receive(stream.subarray(at, at + n));
            at += n;
          }
          assert.equal(h.events.length, 1);
          assert.ok((h.events[0]![1] as Buffer).equals(payload));
          assert.equal(direct(h), null);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('UTF-8 is still validated in the part the parser copies: invalid bytes there fail with 1007', () => {
    const h = server();
    const good = Buffer.from('é'.repeat(20_000)); // 40,000 bytes
    const bad = Buffer.concat([good, Buffer.from([0xff]), Buffer.from('tail')]);
    const raw = clientFrame(Opcode.Text, bad);
    h.receive(raw.subarray(0, 14 + 30_000)); // most of it: the direct buffer takes over
    assert.notEqual(direct(h), null);
    h.receive(raw.subarray(14 + 30_000));
    h.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    // The failed message's buffer is let go of, by the connection and by the parser.
    assert.equal(direct(h), null);
    assert.equal(receiverOf(h)!.parser.target, null);
  });

  it('terminate (abort) in the middle of a large message lets go of its buffer', () => {
    const h = server();
    const frame = binary(pattern(60_000));
    h.receive(frame.subarray(0, 40_000));
    assert.notEqual(direct(h), null);
    h.conn.abort();
    assert.equal(direct(h), null);
    assert.equal(receiverOf(h)!.parser.target, null);
  });

  it('binaryType turned to fragments while a message fills its own buffer: delivered as a list', () => {
    const h = server();
    const frame = binary(pattern(50_000));
    h.receive(frame.subarray(0, 30_000));
    assert.notEqual(direct(h), null);
    h.conn.deliverFragments = true;
    h.receive(frame.subarray(30_000));
    const [, data] = h.events[0]!;
    assert.ok(Array.isArray(data) && data.length === 1 && data[0]!.equals(pattern(50_000)));
  });

  it('deliverFragments and compressed messages keep the list of pieces', () => {
    const h = server();
    h.conn.deliverFragments = true;
    const frame = binary(pattern(100_000));
    for (let i = 0; i < frame.length; i += 30_000) {
      h.receive(frame.subarray(i, i + 30_000));
      assert.equal(direct(h), null);
    }
    const [, data] = h.events[0]!;
    assert.ok(Array.isArray(data) && data.length > 1);
    assert.ok(Buffer.concat(data).equals(pattern(100_000)));
  });
});

describe('Connection: protocol errors fail the connection', () => {
  it('continuation frame without a message to continue: 1002', () => {
    const h = server();
    h.receive(cont('x'));
    h.assertConnectionFailed(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
    h.assertEvents();
  });

  it('continuation after a complete message: 1002', () => {
    const h = server();
    h.receive(text('done'), cont('more'));
    h.assertConnectionFailed(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
    h.assertMessages(['done', false]);
  });

  for (const [name, next] of [
    ['text', Opcode.Text],
    ['binary', Opcode.Binary],
  ] as const) {
    it(`new ${name} frame while a fragmented message is open: 1002`, () => {
      const h = server();
      h.receive(text('Hel', { fin: false }), clientFrame(next, 'lo'));
      h.assertConnectionFailed(1002, 'WS_ERR_EXPECTED_CONTINUATION');
      h.assertEvents();
    });
  }

  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    it(`reserved opcode 0x${op.toString(16)}: 1002`, () => {
      const h = server();
      h.receive(clientFrame(op, 'x'));
      h.assertConnectionFailed(1002, 'WS_ERR_INVALID_OPCODE');
      h.assertEvents();
    });
  }

  for (const rsv of ['rsv1', 'rsv2', 'rsv3'] as const) {
    for (const op of [Opcode.Text, Opcode.Binary, Opcode.Ping, Opcode.Close]) {
      it(`${rsv.toUpperCase()} set on opcode ${op} (no extension negotiated): 1002`, () => {
        const h = server();
        h.receive(clientFrame(op, op === Opcode.Close ? closePayload(1000) : 'x', { [rsv]: true }));
        h.assertConnectionFailed(1002, rsv === 'rsv1' ? 'WS_ERR_UNEXPECTED_RSV_1' : 'WS_ERR_UNEXPECTED_RSV_2_3');
        h.assertEvents();
      });
    }
  }

  it('RSV1 on a continuation frame: 1002', () => {
    const h = server();
    h.receive(text('a', { fin: false }), cont('b', { rsv1: true }));
    h.assertConnectionFailed(1002, 'WS_ERR_UNEXPECTED_RSV_1');
  });

  it('unmasked frame from a client at the server: 1002 (even a control frame)', () => {
    for (const frame of [serverFrame(Opcode.Text, 'hi'), serverFrame(Opcode.Ping, ''), serverFrame(Opcode.Close, closePayload(1000))]) {
      const h = server();
      h.receive(frame);
      h.assertConnectionFailed(1002, 'WS_ERR_EXPECTED_MASK');
      h.assertEvents();
    }
  });

  it('masked frame from the server at a client: 1002, and the client\'s Close frame is masked', () => {
    const h = client();
    h.receive(clientFrame(Opcode.Text, 'hi'));
    h.assertConnectionFailed(1002, 'WS_ERR_UNEXPECTED_MASK');
    h.assertEvents();
  });

  for (const op of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
    it(`control frame (opcode ${op}) with 126 bytes: 1002, before its payload arrives`, () => {
      const h = server();
      const frame = clientFrame(op, Buffer.alloc(126, 0x41));
      h.receive(frame.subarray(0, 8)); // header only (16-bit length + mask)
      h.assertConnectionFailed(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
      h.assertEvents();
    });
  }

  it('control frames of exactly 125 bytes are fine', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Ping, Buffer.alloc(125, 0x61)));
    h.assertFrameSent(Opcode.Pong, Buffer.alloc(125, 0x61));
    h.assertEvents(['ping', Buffer.alloc(125, 0x61)]);
  });

  for (const op of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
    it(`fragmented control frame (opcode ${op}, FIN clear): 1002`, () => {
      const h = server();
      h.receive(clientFrame(op, '', { fin: false }));
      h.assertConnectionFailed(1002, 'WS_ERR_EXPECTED_FIN');
      h.assertEvents();
    });
  }

  it('non-minimal length encodings: 1002', () => {
    for (const o of [{ lengthForm: 16 as const }, { lengthForm: 64 as const }]) {
      const h = server();
      h.receive(text('short', o));
      h.assertConnectionFailed(1002, 'WS_ERR_NON_MINIMAL_LENGTH');
    }
  });

  it('64-bit length with the top bit set: 1002', () => {
    const h = server();
    h.receive(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]));
    h.assertConnectionFailed(1002);
  });

  it('nothing is read after a failure, in the same chunk or later', () => {
    const h = server();
    h.receive(Buffer.concat([cont('bad'), text('after, same chunk')]));
    h.assertConnectionFailed(1002);
    h.receive(text('after, next chunk'), clientFrame(Opcode.Ping, 'p'));
    h.assertEvents();
    h.assertNothingSent();
    assert.equal(h.closeTransportCalls, 1);
  });

  it('the Close frame sent on failure carries a reason of at most 123 bytes', () => {
    const h = server();
    h.receive(clientFrame(0x5, ''));
    const close = decodeFrames(Buffer.concat(h.writes))[0]!;
    assert.equal(close.opcode, Opcode.Close);
    assert.ok(close.payload.length >= 2 && close.payload.length <= 125);
    assert.ok(close.payload.subarray(2).toString().length > 0, 'a reason explains the failure');
  });
});

describe('Connection: UTF-8', () => {
  it('invalid UTF-8 in a single frame: 1007', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Text, Buffer.concat([Buffer.from('κόσμε'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('edited')])));
    h.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    h.assertEvents();
  });

  for (const [name, bad] of [
    ['overlong C0 80', [0xc0, 0x80]],
    ['F4 90 80 80 (> U+10FFFF)', [0xf4, 0x90, 0x80, 0x80]],
    ['FF', [0xff]],
    ['lone continuation', [0x80]],
  ] as const) {
    it(`invalid UTF-8 (${name}): 1007`, () => {
      const h = server();
      h.receive(clientFrame(Opcode.Text, Buffer.from(bad)));
      h.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    });
  }

  it('invalid UTF-8 in the 2nd fragment fails in the receiveData call carrying the bad byte, before the message ends', () => {
    const h = server();
    const payload2 = Buffer.concat([Buffer.from('valid start '), Buffer.from([0xf5]), Buffer.from(' and more text after the bad byte')]);
    h.receive(text('first fragment κό', { fin: false }));
    h.assertEvents();
    const frame2 = cont(payload2, { fin: false });
    const badAt = 6 + 12; // header (2 + 4 mask) + 'valid start '
    h.receive(frame2.subarray(0, badAt));
    assert.equal(h.conn.lifecycle.failure, null, 'valid bytes so far');
    h.assertNothingSent();
    // This chunk holds the bad byte but not the end of the frame (and FIN never came).
    h.receive(frame2.subarray(badAt, badAt + 3));
    h.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    h.receive(frame2.subarray(badAt + 3), cont('end'));
    h.assertEvents();
  });

  it('a multi-byte character split across fragments is valid', () => {
    const h = server();
    const snowman = Buffer.from('☃'); // e2 98 83
    h.receive(
      clientFrame(Opcode.Text, Buffer.concat([Buffer.from('a'), snowman.subarray(0, 1)]), { fin: false }),
      cont(snowman.subarray(1, 2), { fin: false }),
      cont(Buffer.concat([snowman.subarray(2), Buffer.from('b')])),
    );
    h.assertMessages(['a☃b', false]);
  });

  it('UTF-8 truncated at the end of the message: 1007', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Text, Buffer.from([0x61, 0xe2, 0x98])));
    h.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    const h2 = server();
    h2.receive(clientFrame(Opcode.Text, Buffer.from([0x61, 0xe2]), { fin: false }), cont(Buffer.from([0x98])));
    h2.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    h2.assertEvents();
  });

  it('binary messages are not validated; text messages around them are', () => {
    const h = server();
    h.receive(binary(Buffer.from([0xff, 0xe2])), text('ok'), binary(Buffer.from([0xc0])), text('☃'));
    h.assertEvents(
      ['message', Buffer.from([0xff, 0xe2]), true],
      ['message', Buffer.from('ok'), false],
      ['message', Buffer.from([0xc0]), true],
      ['message', Buffer.from('☃'), false],
    );
    h.receive(binary(Buffer.from([0xe2]), { fin: false }), cont(Buffer.from([0x98])), text('ok'));
    h.assertEvents(['message', Buffer.from([0xe2, 0x98]), true], ['message', Buffer.from('ok'), false]);
  });
});

describe('Connection: maxPayload', () => {
  it('DEFAULTS.maxPayload is 100 MiB and is the default', () => {
    assert.equal(DEFAULTS.maxPayload, 100 * 1024 * 1024);
    assert.equal(server().conn.settings.maxPayload, DEFAULTS.maxPayload);
  });

  it('a frame header announcing more than maxPayload fails with 1009 before any payload byte', () => {
    for (const announced of [11, 126, 70_000, 2 ** 40]) {
      const h = server({ maxPayload: 10 });
      const head = buildFrame(Opcode.Binary, '', { mask: MASK, announcedLength: announced });
      h.receive(head);
      h.assertConnectionFailed(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      h.assertEvents();
    }
  });

  it('a message of exactly maxPayload bytes is accepted', () => {
    const h = server({ maxPayload: 10 });
    h.receive(binary('0123456789'));
    h.assertMessages(['0123456789', true]);
  });

  it('fragments summing to more than maxPayload: 1009 at the fragment that overflows', () => {
    const h = server({ maxPayload: 10 });
    h.receive(text('12345', { fin: false }), cont('67890', { fin: false }));
    assert.equal(h.conn.lifecycle.failure, null);
    h.receive(cont('1', { fin: false }).subarray(0, 6)); // its header only
    h.assertConnectionFailed(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    h.assertEvents();
  });

  it('the limit is per message: the count restarts after each message', () => {
    const h = server({ maxPayload: 10 });
    h.receive(text('12345', { fin: false }), cont('67890'), text('abcde', { fin: false }), cont('fghij'));
    h.assertMessages(['1234567890', false], ['abcdefghij', false]);
  });

  it('maxPayload 0 means no limit', () => {
    const h = server({ maxPayload: 0 });
    h.receive(binary(Buffer.alloc(70_000)));
    assert.equal(h.events.length, 1);
  });

  it('control frames are bounded by 125 bytes, not maxPayload', () => {
    const h = server({ maxPayload: 4 });
    h.receive(text('ab', { fin: false }), clientFrame(Opcode.Ping, '0123456789'), cont('cd'));
    h.assertFrameSent(Opcode.Pong, '0123456789');
    h.assertMessages('ping', ['abcd', false]);
  });
});

describe('Connection: receiving Close frames', () => {
  it('empty Close: code 1005 reported, an empty Close echoed, transport closed', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Close, ''));
    h.assertEvents(['close', 1005, Buffer.alloc(0)]);
    h.assertFrameSent(Opcode.Close, '');
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
    assert.deepEqual(h.conn.lifecycle.closeReceived, { code: 1005, reason: Buffer.alloc(0) });
    assert.equal(h.closeTransportCalls, 1);
  });

  it('1-byte Close payload: 1002', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Close, Buffer.from([0x03])));
    h.assertConnectionFailed(1002, 'WS_ERR_INVALID_CLOSE_PAYLOAD');
    h.assertEvents();
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    it(`invalid close code ${code}: 1002`, () => {
      const h = server();
      h.receive(clientFrame(Opcode.Close, closePayload(code)));
      h.assertConnectionFailed(1002, 'WS_ERR_INVALID_CLOSE_CODE');
      h.assertEvents();
    });
  }

  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
    it(`valid close code ${code}: reported, and echoed with its reason (as ws does)`, () => {
      const h = server();
      h.receive(clientFrame(Opcode.Close, closePayload(code, 'bye κόσμε')));
      h.assertEvents(['close', code, Buffer.from('bye κόσμε')]);
      h.assertFrameSent(Opcode.Close, closePayload(code, 'bye κόσμε'));
      assert.deepEqual(h.conn.lifecycle.closeSent, { code, reason: Buffer.from('bye κόσμε') });
      assert.equal(h.conn.lifecycle.phase, Phase.Closing);
      assert.equal(h.closeTransportCalls, 1);
    });
  }

  it('client role: the echoed Close is masked', () => {
    const h = client();
    h.receive(serverFrame(Opcode.Close, closePayload(1001)));
    h.assertEvents(['close', 1001, Buffer.alloc(0)]);
    h.assertFrameSent(Opcode.Close, closePayload(1001));
  });

  it('invalid UTF-8 in the close reason: 1007', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Close, closePayload(1000, Buffer.from([0x61, 0xed, 0xa0, 0x80]))));
    h.assertConnectionFailed(1007, 'WS_ERR_INVALID_UTF8');
    h.assertEvents();
  });

  it('a 125-byte Close (code + 123-byte reason) is accepted', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Close, closePayload(1000, 'r'.repeat(123))));
    h.assertEvents(['close', 1000, Buffer.from('r'.repeat(123))]);
  });

  it('nothing is delivered after the Close frame (a text frame after it in the same chunk, or later)', () => {
    const h = server();
    h.receive(Buffer.concat([clientFrame(Opcode.Close, closePayload(1000)), text('after close'), clientFrame(Opcode.Ping, 'p')]));
    h.assertEvents(['close', 1000, Buffer.alloc(0)]);
    h.assertFrameSent(Opcode.Close, closePayload(1000));
    h.receive(text('later'), clientFrame(Opcode.Close, ''));
    h.assertEvents();
    h.assertNothingSent();
    assert.equal(h.closeTransportCalls, 1);
  });

  it('a Close in the middle of a fragmented message drops the partial message', () => {
    const h = server();
    h.receive(text('partial', { fin: false }), clientFrame(Opcode.Close, closePayload(1001)), cont('end'));
    h.assertEvents(['close', 1001, Buffer.alloc(0)]);
  });

  it('after the peer\'s Close we can send nothing', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Close, closePayload(1000)));
    h.takeSent();
    assert.equal(h.conn.lifecycle.canSend, false);
    assert.equal(h.conn.send('x', false), false);
    assert.equal(h.conn.ping(), false);
    h.conn.close(1000);
    h.assertNothingSent();
  });
});

describe('Connection: closing handshake initiated by us', () => {
  it('close(): state closing, then closed once the peer answers; closeTransport called once', () => {
    const h = server();
    h.conn.close(1000, 'done');
    h.assertFrameSent(Opcode.Close, closePayload(1000, 'done'));
    assert.equal(h.conn.lifecycle.phase, Phase.ClosingByUs);
    assert.deepEqual(h.conn.lifecycle.closeSent, { code: 1000, reason: Buffer.from('done') });
    assert.equal(h.closeTransportCalls, 0);
    h.receive(clientFrame(Opcode.Close, closePayload(1000)));
    h.assertEvents(['close', 1000, Buffer.alloc(0)]);
    h.assertNothingSent(); // no second Close
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
    assert.equal(h.closeTransportCalls, 1);
    h.conn.receiveEof();
    assert.equal(h.conn.lifecycle.cause, Cause.Clean, 'the EOF ends a clean close');
    assert.equal(h.closeTransportCalls, 1);
  });

  it('close() without a code sends an empty Close', () => {
    const h = server();
    h.conn.close();
    h.assertFrameSent(Opcode.Close, '');
    assert.equal(h.conn.lifecycle.closeSent?.code, 1005);
  });

  it('close() twice sends one Close frame', () => {
    const h = server();
    h.conn.close(1000);
    h.conn.close(1001, 'again');
    h.conn.close();
    h.assertFrameSent(Opcode.Close, closePayload(1000));
  });

  it('after close() nothing more is sent: send, ping, pong, sendPrepared return false', () => {
    const h = server();
    h.conn.close(1000);
    h.takeSent();
    assert.equal(h.conn.lifecycle.canSend, false);
    assert.equal(h.conn.send('text', false), false);
    assert.equal(h.conn.send(Buffer.from('bin'), true), false);
    assert.equal(h.conn.ping(Buffer.from('p')), false);
    assert.equal(h.conn.pong(), false);
    assert.equal(h.conn.sendPrepared(new PreparedMessage(Buffer.from('x'), false)), false);
    h.assertNothingSent();
  });

  it('while closing, incoming messages are still delivered but pings are not answered', () => {
    const h = server();
    h.conn.close(1000);
    h.takeSent();
    h.receive(text('late message'), clientFrame(Opcode.Ping, 'p'));
    h.assertEvents(['message', Buffer.from('late message'), false], ['ping', Buffer.from('p')]);
    h.assertNothingSent();
  });

  it('a protocol error while closing fails without a second Close frame', () => {
    const h = server();
    h.conn.close(1000);
    h.takeSent();
    h.receive(cont('x'));
    h.assertConnectionFailed(1002, 'WS_ERR_UNEXPECTED_CONTINUATION', { closeAlreadySent: true });
    assert.equal(h.conn.lifecycle.closeSent?.code, 1000);
  });

  it('close() from inside onMessage: later messages in the same chunk are still delivered, then the Close completes', () => {
    const h = server();
    h.onMessageHook = (data) => {
      if (data.toString() === 'one') h.conn.close(1000);
    };
    h.receive(Buffer.concat([text('one'), text('two'), clientFrame(Opcode.Close, closePayload(1000)), text('three')]));
    h.assertMessages(['one', false], ['two', false], 'close');
    h.assertFrameSent(Opcode.Close, closePayload(1000));
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
  });

  it('close() with an invalid code throws TypeError and sends nothing', () => {
    const h = server();
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, Number.NaN]) {
      assert.throws(() => h.conn.close(code), TypeError, String(code));
    }
    assert.throws(() => h.conn.close('1000' as unknown as number), TypeError);
    h.assertNothingSent();
    assert.equal(h.conn.lifecycle.phase, Phase.Open);
  });

  it('close() with a reason over 123 bytes throws RangeError (bytes, not characters)', () => {
    const h = server();
    assert.throws(() => h.conn.close(1000, 'x'.repeat(124)), RangeError);
    assert.throws(() => h.conn.close(1000, 'é'.repeat(62)), RangeError); // 62 chars, 124 bytes
    assert.throws(() => h.conn.close(1000, Buffer.alloc(124)), RangeError);
    h.assertNothingSent();
    h.conn.close(4999, 'é'.repeat(61) + 'x'); // 123 bytes: fine
    h.assertFrameSent(Opcode.Close, closePayload(4999, 'é'.repeat(61) + 'x'));
  });

  it('close() with a reason but no code throws TypeError', () => {
    const h = server();
    assert.throws(() => h.conn.close(undefined, 'why'), TypeError);
    h.assertNothingSent();
  });

  it('close() after a failure sends nothing', () => {
    const h = server();
    h.receive(clientFrame(0x3, ''));
    h.assertConnectionFailed(1002);
    h.conn.close(1000);
    h.assertNothingSent();
  });
});

describe('Connection: end of stream', () => {
  it('EOF after both Close frames is clean', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Close, closePayload(1000)));
    h.conn.receiveEof();
    assert.equal(h.conn.lifecycle.cause, Cause.Clean);
    assert.equal(h.conn.lifecycle.wasClean, true);
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
  });

  it('EOF without any Close is unclean (1006)', () => {
    const h = server();
    h.receive(text('hi'));
    h.conn.receiveEof();
    assert.equal(h.conn.lifecycle.cause, Cause.Eof);
    assert.equal(h.conn.lifecycle.wasClean, false);
    assert.equal(h.conn.lifecycle.closeCode, 1006);
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
    assert.equal(h.conn.lifecycle.canSend, false);
  });

  it('EOF after our Close but before the peer\'s is unclean', () => {
    const h = server();
    h.conn.close(1000);
    h.conn.receiveEof();
    assert.equal(h.conn.lifecycle.cause, Cause.Eof);
    assert.equal(h.conn.lifecycle.wasClean, false);
    assert.equal(h.conn.lifecycle.closeCode, 1006);
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
  });

  it('EOF in the middle of a frame is unclean', () => {
    const h = server();
    const frame = text('hello');
    h.receive(frame.subarray(0, 4));
    h.conn.receiveEof();
    assert.equal(h.conn.lifecycle.cause, Cause.Eof);
    h.assertEvents();
  });

  it('nothing is processed after EOF', () => {
    const h = server();
    h.conn.receiveEof();
    h.receive(text('after eof'), clientFrame(Opcode.Ping, ''));
    h.assertEvents();
    h.assertNothingSent();
  });
});

describe('Connection: abort', () => {
  it('abort(): nothing is sent, nothing more is read', () => {
    const h = server();
    h.conn.abort();
    assert.equal(h.conn.lifecycle.phase, Phase.Closing);
    assert.equal(h.conn.send('x', false), false);
    h.conn.close(1000);
    h.receive(text('after abort'), clientFrame(Opcode.Ping, 'p'));
    h.assertEvents();
    h.assertNothingSent();
    assert.equal(h.conn.lifecycle.closeSent, null, 'no Close frame was sent');
    assert.equal(h.conn.lifecycle.cause, Cause.Aborted);
    assert.equal(h.conn.lifecycle.closeCode, 1006);
  });

  it('abort() from inside onMessage stops delivering the rest of the chunk', () => {
    const h = server();
    h.onMessageHook = () => h.conn.abort();
    h.receive(Buffer.concat([text('one'), text('two'), clientFrame(Opcode.Ping, 'p')]));
    h.assertMessages(['one', false]);
    h.assertNothingSent();
  });

  it('abort() from inside onPing / onPong stops reading the rest of the chunk', () => {
    for (const op of [Opcode.Ping, Opcode.Pong]) {
      const h = server({ autoPong: false });
      h.onControlHook = () => h.conn.abort();
      h.receive(Buffer.concat([clientFrame(op, 'c'), text('after'), clientFrame(op, 'c2')]));
      assert.equal(h.events.length, 1, `opcode ${op}`);
      h.assertNothingSent();
    }
  });
});

describe('Connection: ping and pong', () => {
  it('a ping is answered with a pong carrying the same payload', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Ping, 'payload'));
    h.assertFrameSent(Opcode.Pong, 'payload');
    h.assertEvents(['ping', Buffer.from('payload')]);
    h.receive(clientFrame(Opcode.Ping, ''));
    h.assertFrameSent(Opcode.Pong, '');
  });

  it('client role: the auto-pong is masked with the injected key', () => {
    const h = client();
    h.receive(serverFrame(Opcode.Ping, 'hb'));
    h.assertFrameSent(Opcode.Pong, 'hb');
  });

  it('autoPong: false does not answer but still reports the ping', () => {
    const h = server({ autoPong: false });
    h.receive(clientFrame(Opcode.Ping, 'x'));
    h.assertNothingSent();
    h.assertEvents(['ping', Buffer.from('x')]);
  });

  it('an unsolicited pong is reported and not answered', () => {
    const h = server();
    h.receive(clientFrame(Opcode.Pong, 'unsolicited'));
    h.assertEvents(['pong', Buffer.from('unsolicited')]);
    h.assertNothingSent();
  });

  it('while the output is congested the pong is held; only the latest is sent on flushPendingPong', () => {
    const h = server();
    h.congested = true;
    h.receive(clientFrame(Opcode.Ping, 'one'), clientFrame(Opcode.Ping, 'two'), clientFrame(Opcode.Ping, 'three'));
    h.assertNothingSent();
    h.assertEvents(['ping', Buffer.from('one')], ['ping', Buffer.from('two')], ['ping', Buffer.from('three')]);
    h.congested = false;
    h.conn.flushPendingPong();
    h.assertFrameSent(Opcode.Pong, 'three');
    h.conn.flushPendingPong();
    h.assertNothingSent();
  });

  it('flushPendingPong with nothing pending sends nothing', () => {
    const h = server();
    h.conn.flushPendingPong();
    h.assertNothingSent();
  });

  it('a held pong is superseded by a later pong sent directly (no stale pong afterwards)', () => {
    const h = server();
    h.congested = true;
    h.receive(clientFrame(Opcode.Ping, 'old'));
    h.congested = false;
    h.receive(clientFrame(Opcode.Ping, 'new'));
    h.assertFrameSent(Opcode.Pong, 'new');
    h.conn.flushPendingPong();
    h.assertNothingSent();
  });

  it('a held pong is dropped once we send a Close', () => {
    const h = server();
    h.congested = true;
    h.receive(clientFrame(Opcode.Ping, 'held'));
    h.conn.close(1000);
    h.takeSent();
    h.congested = false;
    h.conn.flushPendingPong();
    h.assertNothingSent();
  });

  it('ping() and pong() send control frames; payloads over 125 bytes throw RangeError', () => {
    const h = server();
    assert.equal(h.conn.ping(Buffer.from('hello')), true);
    assert.equal(h.conn.pong(Buffer.from('there')), true);
    assert.equal(h.conn.ping(), true);
    h.assertFramesSent(serverFrame(Opcode.Ping, 'hello'), serverFrame(Opcode.Pong, 'there'), serverFrame(Opcode.Ping, ''));
    assert.throws(() => h.conn.ping(Buffer.alloc(126)), RangeError);
    assert.throws(() => h.conn.pong(Buffer.alloc(126)), RangeError);
    h.conn.ping(Buffer.alloc(125, 1));
    h.assertFrameSent(Opcode.Ping, Buffer.alloc(125, 1));
  });
});

describe('Connection: sending', () => {
  it('send text and binary: exact unmasked frames (server)', () => {
    const h = server();
    assert.equal(h.conn.send('κόσμε', false), true);
    assert.equal(h.conn.send(Buffer.from([1, 2, 3]), true), true);
    assert.equal(h.conn.send(Buffer.from('as text'), false), true);
    assert.equal(h.conn.send('', true), true);
    h.assertFramesSent(
      serverFrame(Opcode.Text, 'κόσμε'),
      serverFrame(Opcode.Binary, Buffer.from([1, 2, 3])),
      serverFrame(Opcode.Text, 'as text'),
      serverFrame(Opcode.Binary, ''),
    );
  });

  it('length boundaries 125/126/65535/65536 are framed exactly, large payloads written without a copy', () => {
    for (const len of [125, 126, 65535, 65536]) {
      const h = server();
      const payload = Buffer.alloc(len, 0x61);
      h.conn.send(payload, true);
      h.assertFrameSent(Opcode.Binary, payload);
    }
  });

  it('send with fin: false then fin: true: the opcode frame, then continuation frames', () => {
    const h = server();
    h.conn.send('Hel', false, { fin: false });
    h.conn.send('l', false, { fin: false });
    h.conn.send('o', false, { fin: true });
    h.conn.send(Buffer.from('ab'), true, { fin: false });
    h.conn.send(Buffer.from('cd'), true);
    h.assertFramesSent(
      serverFrame(Opcode.Text, 'Hel', { fin: false }),
      serverFrame(Opcode.Continuation, 'l', { fin: false }),
      serverFrame(Opcode.Continuation, 'o'),
      serverFrame(Opcode.Binary, 'ab', { fin: false }),
      serverFrame(Opcode.Continuation, 'cd'),
    );
  });

  it('fragmentSize splits outgoing messages into exact frames', () => {
    const h = server({ fragmentSize: 4 });
    h.conn.send('abcdefghij', false);
    h.assertFramesSent(
      serverFrame(Opcode.Text, 'abcd', { fin: false }),
      serverFrame(Opcode.Continuation, 'efgh', { fin: false }),
      serverFrame(Opcode.Continuation, 'ij'),
    );
    h.conn.send(Buffer.from('12345678'), true);
    h.assertFramesSent(serverFrame(Opcode.Binary, '1234', { fin: false }), serverFrame(Opcode.Continuation, '5678'));
    h.conn.send('abcd', false);
    h.assertFrameSent(Opcode.Text, 'abcd');
    h.conn.send('', false);
    h.assertFrameSent(Opcode.Text, '');
  });

  it('fragmentSize splits text by bytes (a character may straddle frames)', () => {
    const h = server({ fragmentSize: 3 });
    h.conn.send('κόσ', false); // ce ba cf 8c cf 83
    const bytes = Buffer.from('κόσ');
    h.assertFramesSent(serverFrame(Opcode.Text, bytes.subarray(0, 3), { fin: false }), serverFrame(Opcode.Continuation, bytes.subarray(3)));
    h.conn.send('ab', false); // 2 chars * 3 > 3, but 2 bytes: one frame
    h.assertFrameSent(Opcode.Text, 'ab');
  });

  it('fragmentSize with fin: false: the last piece stays open, and the next send continues it', () => {
    const h = server({ fragmentSize: 2 });
    h.conn.send('abc', false, { fin: false });
    h.conn.send('de', false);
    h.assertFramesSent(
      serverFrame(Opcode.Text, 'ab', { fin: false }),
      serverFrame(Opcode.Continuation, 'c', { fin: false }),
      serverFrame(Opcode.Continuation, 'de'),
    );
  });

  it('the write callback goes with the last write of the message', () => {
    const h = server({ fragmentSize: 2 });
    const cb: WriteCallback = () => {};
    h.conn.send('abcde', false, undefined, cb);
    assert.equal(h.callbacks.length, 3);
    assert.deepEqual(h.callbacks.slice(0, 2), [undefined, undefined]);
    assert.equal(h.callbacks[2], cb);
    h.takeSent();
    const big = server();
    big.conn.send(Buffer.alloc(70_000), true, undefined, cb);
    assert.equal(big.callbacks[big.callbacks.length - 1], cb);
    big.takeSent();
    big.conn.ping(Buffer.alloc(0), cb);
    assert.deepEqual(big.callbacks, [cb]);
  });

  it('sending never modifies the caller\'s buffer (client masking)', () => {
    const h = client();
    const data = Buffer.from('do not touch me, please: 0123456789abcdef0123456789');
    const copy = Buffer.from(data);
    h.conn.send(data, true);
    const big = Buffer.alloc(70_000, 0x7a);
    h.conn.send(big, true);
    assert.deepEqual(data, copy);
    assert.ok(big.every((b) => b === 0x7a));
  });

  it('client role: every frame is masked with the injected key', () => {
    const h = client({ fragmentSize: 5 });
    h.conn.send('hello world', false);
    h.conn.send(Buffer.from([1, 2]), true, { fin: false });
    h.conn.send(Buffer.from([3]), true);
    h.conn.ping(Buffer.from('ping'));
    h.conn.pong(Buffer.from('pong'));
    h.conn.close(1000, 'bye');
    h.assertFramesSent(
      clientFrame(Opcode.Text, 'hello', { fin: false }),
      clientFrame(Opcode.Continuation, ' worl', { fin: false }),
      clientFrame(Opcode.Continuation, 'd'),
      clientFrame(Opcode.Binary, Buffer.from([1, 2]), { fin: false }),
      clientFrame(Opcode.Continuation, Buffer.from([3])),
      clientFrame(Opcode.Ping, 'ping'),
      clientFrame(Opcode.Pong, 'pong'),
      clientFrame(Opcode.Close, closePayload(1000, 'bye')),
    );
  });

  it('client role: a fresh key is drawn for every frame', () => {
    let n = 0;
    const h = new Harness({ role: 'client', fragmentSize: 70_000, maskKeySource: () => Buffer.from([n, n + 1, n + 2, n++ + 3]) });
    h.conn.send('a', false);
    h.conn.send(Buffer.alloc(140_001, 0x62), true); // 3 frames
    h.conn.ping();
    h.receive(serverFrame(Opcode.Ping, 'x'));
    h.conn.close(1000);
    const frames = decodeFrames(h.takeSent());
    assert.equal(frames.length, 7);
    frames.forEach((f, i) => {
      assert.equal(f.masked, true);
      assert.deepEqual([...f.maskKey!], [i, i + 1, i + 2, i + 3], `frame ${i}`);
    });
    assert.equal(Buffer.concat(frames.slice(1, 4).map((f) => f.payload)).length, 140_001);
  });

  it('client role: the default key source is random (frames are masked, keys differ)', () => {
    const h = new Harness({ role: 'client' });
    h.conn.send('same', false);
    h.conn.send('same', false);
    const [a, b] = decodeFrames(h.takeSent());
    assert.ok(a!.masked && b!.masked);
    assert.equal(a!.payload.toString(), 'same');
    assert.notDeepEqual(a!.maskKey, b!.maskKey);
  });

  it('SendOptions.mask overrides the role (for tests that break the RFC on purpose)', () => {
    const s = server();
    s.conn.send('masked by a server', false, { mask: true });
    const [f] = decodeFrames(s.takeSent());
    assert.equal(f!.masked, true);
    assert.equal(f!.payload.toString(), 'masked by a server');
    const c = client({ fragmentSize: 3 });
    c.conn.send('unmasked', false, { mask: false });
    c.conn.send('masked', false, { mask: true });
    c.assertFramesSent(
      serverFrame(Opcode.Text, 'unm', { fin: false }),
      serverFrame(Opcode.Continuation, 'ask', { fin: false }),
      serverFrame(Opcode.Continuation, 'ed'),
      clientFrame(Opcode.Text, 'mas', { fin: false }),
      clientFrame(Opcode.Continuation, 'ked'),
    );
  });

  it('server role: frames are never masked', () => {
    const h = server();
    h.conn.send('x', false);
    h.conn.ping();
    h.conn.close();
    for (const f of decodeFrames(h.takeSent())) assert.equal(f.masked, false);
  });
});

describe('Connection: sendPrepared', () => {
  it('writes the bytes verbatim', () => {
    const h = server();
    const message = new PreparedMessage(Buffer.from('encoded'), true);
    const cb: WriteCallback = () => {};
    assert.equal(h.conn.sendPrepared(message, cb), true);
    assert.equal(h.callbacks[0], cb);
    h.assertFramesSent(serverFrame(Opcode.Binary, 'encoded'));
    const other = server();
    assert.equal(other.conn.sendPrepared(message), true);
    other.assertFramesSent(serverFrame(Opcode.Binary, 'encoded'));
    assert.equal(h.writes.length, 0);
  });

  it('is refused while our fragmented message is open, allowed again after it ends', () => {
    const h = server();
    h.conn.send('part', false, { fin: false });
    assert.equal(h.conn.sendPrepared(new PreparedMessage(Buffer.from('x'), false)), false);
    h.conn.send('end', false);
    assert.equal(h.conn.sendPrepared(new PreparedMessage(Buffer.from('x'), false)), true);
    h.assertFramesSent(
      serverFrame(Opcode.Text, 'part', { fin: false }),
      serverFrame(Opcode.Continuation, 'end'),
      serverFrame(Opcode.Text, 'x'),
    );
  });

  it('is refused after close() and after the peer\'s Close', () => {
    const h = server();
    h.conn.close(1000);
    h.takeSent();
    assert.equal(h.conn.sendPrepared(new PreparedMessage(Buffer.from('x'), false)), false);
    h.assertNothingSent();
    const h2 = server();
    h2.receive(clientFrame(Opcode.Close, ''));
    h2.takeSent();
    assert.equal(h2.conn.sendPrepared(new PreparedMessage(Buffer.from('x'), false)), false);
    h2.assertNothingSent();
  });

  it('throws for a client (frames need a fresh mask each)', () => {
    const h = client();
    assert.throws(() => h.conn.sendPrepared(new PreparedMessage(Buffer.from('x'), false)));
    h.assertNothingSent();
  });
});

describe('Connection: any split of a client stream gives the same events and output', () => {
  const stream = Buffer.concat([
    text('Hel', { fin: false }),
    clientFrame(Opcode.Ping, 'p1'),
    cont('lo ☃'),
    binary(Buffer.alloc(200, 7)),
    clientFrame(Opcode.Pong, ''),
    text(''),
    clientFrame(Opcode.Close, closePayload(1000, 'done')),
  ]);

  function run(pieces: Buffer[]): string {
    const h = server();
    for (const p of pieces) h.receive(p);
    const events = h.events.map((e) => {
      if (e[0] === 'message') return ['message', Buffer.concat([e[1]].flat()).toString('hex'), e[2]];
      if (e[0] === 'fail') return ['fail', e[1].code];
      return e.map((x) => (Buffer.isBuffer(x) ? x.toString('hex') : x));
    });
    return JSON.stringify({ events, sent: h.takeSent().toString('hex'), closes: h.closeTransportCalls });
  }

  it('every 2-piece split and 1 byte at a time', () => {
    const expected = run([stream]);
    assert.match(expected, /"message"/);
    for (let i = 0; i <= stream.length; i++) assert.equal(run([stream.subarray(0, i), stream.subarray(i)]), expected, `split at ${i}`);
    const bytes: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
    assert.equal(run(bytes), expected);
  });
});

describe('Connection: input held while an extension decodes', () => {
  const compressed = (s: string): Buffer => clientFrame(Opcode.Text, s, { rsv1: true });

  it('a held chunk that starts another decode keeps the rest of its bytes ahead of later chunks', () => {
    const transform = new ManualTransform();
    const h = server({ extension: transform });
    h.receive(compressed('a'));
    // Held: the second chunk holds a compressed message and a plain one, the third another plain one.
    h.receive(Buffer.concat([compressed('b'), text('c')]), text('d'));
    transform.finish();
    h.assertMessages(['A', false]);
    transform.finish();
    h.assertMessages(['B', false], ['c', false], ['d', false]);
  });

  it('whenInputSettled runs when the held decode fails', () => {
    const transform = new ManualTransform();
    const h = server({ extension: transform });
    h.receive(compressed('a'), text('later'));
    let settled = 0;
    h.conn.whenInputSettled(() => settled++);
    assert.equal(settled, 0);
    transform.finish(new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', 1007, 'bad data'));
    h.assertConnectionFailed(1007, 'WS_ERR_INVALID_COMPRESSED_DATA');
    assert.equal(settled, 1);
  });

  it('whenInputSettled runs when held input breaks the protocol, after the failure is recorded', () => {
    const transform = new ManualTransform();
    const h = server({ extension: transform });
    h.receive(compressed('a'), buildFrame(0x3, 'x', { mask: MASK }));
    let closeCodeWhenSettled = 0;
    h.conn.whenInputSettled(() => (closeCodeWhenSettled = h.conn.lifecycle.closeCode));
    transform.finish();
    h.assertMessages(['A', false], 'fail');
    assert.equal(closeCodeWhenSettled, 1002);
  });

  it('whenInputSettled runs when a held Close frame ends the connection', () => {
    const transform = new ManualTransform();
    const h = server({ extension: transform });
    h.receive(compressed('a'), clientFrame(Opcode.Close, closePayload(4000, 'bye')));
    let closeCodeWhenSettled = 0;
    h.conn.whenInputSettled(() => (closeCodeWhenSettled = h.conn.lifecycle.closeCode));
    transform.finish();
    assert.equal(closeCodeWhenSettled, 4000);
  });

  it('whenInputSettled runs when the connection is aborted during the decode', () => {
    const transform = new ManualTransform();
    const h = server({ extension: transform });
    h.receive(compressed('a'));
    let settled = 0;
    h.conn.whenInputSettled(() => settled++);
    h.conn.abort();
    assert.equal(settled, 1);
    transform.finish(); // late: ignored
    h.assertEvents();
    assert.equal(settled, 1);
  });
});
