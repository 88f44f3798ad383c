// Backpressure on publications: a subscriber that never reads (a raw TCP
// client that pauses its socket after the handshake) next to one that reads
// everything. The server publishes 64 KiB messages until the kernel's socket
// buffers are full and the unsent bytes pile up in user space; then the
// policy decides: 'close' fails the stalled connection with 1008, 'drop'
// skips it. Either way the server never holds more than maxBackpressure plus
// one message for it, and the reading subscriber gets every message.
//
// Pacing is by events, not time: after each batch the test yields with
// setImmediate (so sockets flush) and waits until the reader has received
// everything published so far, so the reader itself never nears the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { WebSocket, type BackpressurePolicy } from '../../src/index.js';
import { Opcode, closePayload, handshakeRaw, parseClosePayload, type RawClient } from '../support/raw-socket.js';
import { closeServer, startServer, waitFor, type Started } from './helpers.js';

const T = { timeout: 120_000 };
const KiB = 1024;
const MiB = 1024 * KiB;
const MAX_BACKPRESSURE = 256 * KiB;
const MESSAGE = 64 * KiB;
/** A 64 KiB payload needs the 64-bit length form: 2 + 8 header bytes. */
const FRAME_BYTES = MESSAGE + 10;
const CLOSE_REASON = 'Backpressure limit exceeded';
const CLOSE_FRAME_BYTES = 2 + 2 + Buffer.byteLength(CLOSE_REASON);
/** Publications per batch: even if nothing flushed, the reader stays under the limit (3 frames < 256 KiB). */
const BATCH = 4;
/** 200 MiB in total. */
const TOTAL_MESSAGES = (200 * MiB) / MESSAGE;
const TOPIC = 'feed';

/** A 64 KiB payload: the sequence number, then a byte pattern derived from it. */
function payload(seq: number): Buffer {
  const b = Buffer.alloc(MESSAGE, seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
}

/** Checks a received payload and returns its sequence number. */
function seqOf(data: Buffer): number {
  assert.equal(data.length, MESSAGE, 'a whole 64 KiB message');
  const seq = data.readUInt32BE(0);
  const fill = seq & 0xff;
  assert.ok(data[4] === fill && data[MESSAGE - 1] === fill && data[MESSAGE >> 1] === fill, `payload of message ${seq} intact`);
  return seq;
}

interface Setup {
  started: Started;
  stalled: RawClient;
  stalledPeer: WebSocket;
  reader: WebSocket;
  readerPeer: WebSocket;
  /** Sequence numbers received by the reader, in order. */
  readerSeqs: number[];
  /** Text messages received by the reader. */
  readerTexts: string[];
  /** Resolves once the reader has received `n` messages. */
  readerAt(n: number): Promise<void>;
}

async function setup(policy: BackpressurePolicy, t: { after(fn: () => unknown): void }): Promise<Setup> {
  const started = await startServer({ maxBackpressure: MAX_BACKPRESSURE, backpressurePolicy: policy });
  const peers = new Map<string, WebSocket>();
  started.wss.on('connection', (ws: WebSocket, req: { url?: string }) => {
    const role = new URL(req.url ?? '/', 'http://x').searchParams.get('role') ?? '?';
    peers.set(role, ws);
    assert.equal(ws.subscribe(TOPIC), true);
  });
  const raws: RawClient[] = [];
  t.after(async () => {
    // The stalled peer would hold server.close() until its close timeout: cut it first.
    await Promise.all(raws.map((r) => r.destroy()));
    await closeServer(started.wss);
  });

  const stalled = await handshakeRaw(started.port, `/?role=stalled`);
  raws.push(stalled);
  stalled.socket.pause(); // never read: the kernel buffers fill, then the server's
  const reader = new WebSocket(`${started.url}/?role=reader`);
  const readerSeqs: number[] = [];
  const readerTexts: string[] = [];
  let wanted: { n: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  reader.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      readerTexts.push(data.toString());
      return;
    }
    readerSeqs.push(seqOf(data));
    if (wanted !== null && readerSeqs.length >= wanted.n) {
      const w = wanted;
      wanted = null;
      w.resolve();
    }
  });
  reader.on('close', (code: number) => wanted?.reject(new Error(`the reader closed (${code}) at ${readerSeqs.length}/${wanted.n}`)));
  await once(reader, 'open');
  await waitFor(() => peers.has('stalled') && peers.has('reader'), 'both connections on the server');
  return {
    started,
    stalled,
    stalledPeer: peers.get('stalled')!,
    reader,
    readerPeer: peers.get('reader')!,
    readerSeqs,
    readerTexts,
    readerAt: (n) =>
      readerSeqs.length >= n
        ? Promise.resolve()
        : reader.readyState !== WebSocket.OPEN
          ? Promise.reject(new Error(`the reader is closed at ${readerSeqs.length}/${n}`))
          : new Promise<void>((resolve, reject) => {
              wanted = { n, resolve, reject };
            }),
  };
}

interface Log {
  /** For each publication: [seq, stalled peer's bufferedAmount before, deliveries]. */
  entries: Array<{ seq: number; before: number; delivered: number }>;
  maxBuffered: number;
}

/** Publishes message `seq`, records it, and checks the stalled peer's bound. */
function publishOne(s: Setup, seq: number, log: Log): void {
  const before = s.stalledPeer.bufferedAmount;
  const delivered = s.started.wss.publish(TOPIC, payload(seq));
  const after = s.stalledPeer.bufferedAmount;
  log.entries.push({ seq, before, delivered });
  log.maxBuffered = Math.max(log.maxBuffered, after);
  assert.ok(
    after <= MAX_BACKPRESSURE + FRAME_BYTES + CLOSE_FRAME_BYTES,
    `message ${seq}: the stalled peer buffers ${after} bytes, more than maxBackpressure + one message`,
  );
}

/** Reads frames from the (resumed) raw client until `stop(frame)`; returns the data frames' sequence numbers. */
async function drainStalled(raw: RawClient, stop: (opcode: number, payload: Buffer) => boolean): Promise<{ seqs: number[]; last: { opcode: number; payload: Buffer } }> {
  raw.socket.resume();
  const seqs: number[] = [];
  for (;;) {
    const frame = await raw.readFrame();
    assert.equal(frame.fin, true);
    assert.equal(frame.rsv, 0);
    assert.equal(frame.masked, false);
    if (stop(frame.opcode, frame.payload)) return { seqs, last: { opcode: frame.opcode, payload: frame.payload } };
    assert.equal(frame.opcode, Opcode.BINARY, `unexpected opcode ${frame.opcode} after ${seqs.length} messages`);
    seqs.push(seqOf(frame.payload));
  }
}

test("policy 'close': the stalled subscriber is closed with 1008 after its data; the reader gets everything", T, async (t) => {
  const s = await setup('close', t);
  const log: Log = { entries: [], maxBuffered: 0 };
  let seq = 0;
  let closedAt = -1;
  while (seq < TOTAL_MESSAGES) {
    for (let i = 0; i < BATCH; i++) publishOne(s, seq++, log);
    await yieldTurn();
    await s.readerAt(seq);
    if (closedAt < 0 && s.stalledPeer.readyState !== WebSocket.OPEN) closedAt = seq;
    // Once closed, a few more batches show later publications skip it.
    if (closedAt >= 0 && seq >= closedAt + 4 * BATCH) break;
  }
  assert.ok(closedAt >= 0, `the stalled subscriber was never closed (${TOTAL_MESSAGES} messages, max buffered ${log.maxBuffered})`);
  assert.ok(log.maxBuffered > MAX_BACKPRESSURE, 'the limit was actually reached');
  assert.ok([WebSocket.CLOSING, WebSocket.CLOSED].includes(s.stalledPeer.readyState as 2 | 3));
  assert.equal(s.readerPeer.readyState, WebSocket.OPEN, 'the reader is untouched');

  // Deliveries: both while the stalled peer was at or under the limit, then the reader only, for good.
  const toStalled = log.entries.filter((e) => e.delivered === 2).map((e) => e.seq);
  const k = toStalled.length;
  assert.ok(k > 0);
  assert.deepEqual(toStalled, Array.from({ length: k }, (_, i) => i), 'a prefix of the publications');
  for (const e of log.entries) {
    assert.equal(e.delivered, e.seq < k ? 2 : 1, `deliveries of message ${e.seq}`);
  }
  assert.ok(log.entries[k]!.before > MAX_BACKPRESSURE, 'the first skipped publication found the peer above the limit');
  assert.ok(log.entries.slice(0, k).every((e) => e.before <= MAX_BACKPRESSURE));

  // The reader received every message, in order.
  assert.deepEqual(s.readerSeqs, Array.from({ length: seq }, (_, i) => i));

  // The stalled client finally reads: all its data, then the close frame with 1008.
  const serverClosed = once(s.stalledPeer, 'close');
  const { seqs, last } = await drainStalled(s.stalled, (opcode) => opcode === Opcode.CLOSE);
  assert.deepEqual(seqs, toStalled);
  assert.deepEqual(parseClosePayload(last.payload), { code: 1008, reason: CLOSE_REASON });
  await s.stalled.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(1008) });
  await s.stalled.waitForEnd();
  const [code] = (await serverClosed) as [number, Buffer];
  assert.equal(code, 1008);
  assert.equal(s.started.wss.subscriberCount(TOPIC), 1, 'only the reader is left');
});

/** A gc() without --expose-gc on the command line. */
function getGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test("policy 'drop': the stalled subscriber stays open and skips publications while above the limit; memory bounded", T, async (t) => {
  const gc = getGc();
  const s = await setup('drop', t);
  gc();
  const baseline = process.memoryUsage().arrayBuffers;
  const log: Log = { entries: [], maxBuffered: 0 };
  let seq = 0;
  while (seq < TOTAL_MESSAGES) {
    for (let i = 0; i < BATCH; i++) publishOne(s, seq++, log);
    await yieldTurn();
    await s.readerAt(seq);
    assert.equal(s.stalledPeer.readyState, WebSocket.OPEN, `still open after ${seq} messages`);
  }
  gc();
  const growth = process.memoryUsage().arrayBuffers - baseline;
  assert.ok(growth < 64 * MiB, `arrayBuffers grew by ${(growth / MiB).toFixed(1)} MiB after publishing 200 MiB`);

  assert.ok(log.maxBuffered > MAX_BACKPRESSURE, 'the limit was actually reached');
  for (const e of log.entries) {
    assert.equal(e.delivered, e.before > MAX_BACKPRESSURE ? 1 : 2, `message ${e.seq}: delivered to the stalled peer iff it was at or under the limit`);
  }
  const toStalled = log.entries.filter((e) => e.delivered === 2).map((e) => e.seq);
  assert.ok(toStalled.length < TOTAL_MESSAGES, 'some publications were skipped');
  assert.deepEqual(s.readerSeqs, Array.from({ length: TOTAL_MESSAGES }, (_, i) => i), 'the reader got everything');
  assert.equal(s.readerPeer.readyState, WebSocket.OPEN);

  // The stalled client reads again: exactly the publications it was given, then new ones flow.
  const reading = drainStalled(s.stalled, (opcode, p) => opcode === Opcode.TEXT && p.toString() === 'END');
  await waitFor(() => s.stalledPeer.bufferedAmount <= MAX_BACKPRESSURE, 'the stalled peer to drain');
  assert.equal(s.started.wss.publish(TOPIC, 'END'), 2, 'delivered to both again');
  const { seqs } = await reading;
  assert.deepEqual(seqs, toStalled);
  await waitFor(() => s.readerTexts.length === 1, 'END at the reader');
  assert.deepEqual(s.readerTexts, ['END']);
  assert.equal(s.stalledPeer.readyState, WebSocket.OPEN);

  // A normal close handshake: the connection was never failed.
  const serverClosed = once(s.stalledPeer, 'close');
  await s.stalled.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000) });
  const reply = await s.stalled.readFrame();
  assert.equal(reply.opcode, Opcode.CLOSE);
  assert.equal(parseClosePayload(reply.payload).code, 1000);
  const [code] = (await serverClosed) as [number, Buffer];
  assert.equal(code, 1000);
});
