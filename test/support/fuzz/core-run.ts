/**
 * Runs one fuzz case through a real Connection (src/protocol), fed in given
 * pieces, and records everything observable: the handler's events, the bytes
 * written, how the lifecycle ended, how often the transport was asked to
 * close, and anything thrown. Decoding with permessage-deflate may finish
 * later (zlib in the thread pool): the run waits for Connection's
 * whenInputSettled, and, when the case echoes, for every echo to be written.
 */
import { Connection, type ConnectionHandler, type ConnectionOutput } from '../../../src/protocol/connection.js';
import type { ProtocolError } from '../../../src/protocol/errors.js';
import type { MessageTransform } from '../../../src/protocol/extension.js';
import { resolveSettings, type ConnectionSettings } from '../../../src/protocol/options.js';
import type { WriteCallback } from '../../../src/protocol/send-queue.js';
import { DeflateTransform } from '../../../src/extensions/permessage-deflate/index.js';
import type { DeflateSetup, FuzzCase, FuzzEvent } from './inputs.js';

/** What the fuzzer drives: a Connection, or in the fuzzer's self-test a broken one. */
export type CoreFactory = (settings: ConnectionSettings, handler: ConnectionHandler, output: ConnectionOutput, extension: MessageTransform | null) => Connection;

export const realCore: CoreFactory = (settings, handler, output, extension) => new Connection(settings, handler, output, extension);

export interface Outcome {
  events: FuzzEvent[];
  /** Every byte written, in order. */
  output: Buffer;
  cause: number;
  phase: number;
  closeCode: number;
  closeTransportCalls: number;
  /** Echo sends the connection accepted, and how many of their callbacks ran. */
  sendsAccepted: number;
  sendCallbacks: number;
  /** What a call into the connection threw (nothing may). */
  thrown: string | null;
  /** What never finished: a decode that never settled, an echo never written. */
  hang: string | null;
  /** Did the connection's last word to its driver ask it to stop reading (pauseInput, while inflating)? */
  paused: boolean;
}

/** Longest wait for zlib work (real work takes milliseconds; this is a hang detector, not a timing assertion). */
const HANG_MS = 20_000;
/** Client frames need a mask: a fixed one keeps the output identical across runs. */
const FIXED_MASK = Buffer.from([0x5a, 0xc3, 0x0f, 0x96]);
const fixedMaskKey = (): Uint8Array => FIXED_MASK;

const settingsCache = new Map<string, ConnectionSettings>();

function settingsFor(c: FuzzCase): ConnectionSettings {
  const key = `${c.role}/${c.maxPayload}/${c.skipUTF8Validation}`;
  let settings = settingsCache.get(key);
  if (settings === undefined) {
    settings = resolveSettings({ role: c.role, maxPayload: c.maxPayload, skipUTF8Validation: c.skipUTF8Validation, maskKeySource: fixedMaskKey });
    settingsCache.set(key, settings);
  }
  return settings;
}

/** The transform both sides agreed on, from our side's point of view. */
export function transformFor(c: FuzzCase): MessageTransform | null {
  const d: DeflateSetup | null = c.deflate;
  if (d === null) return null;
  const server = c.role === 'server';
  return new DeflateTransform(
    c.role,
    {
      serverNoContextTakeover: !(server ? d.deflateTakeover : d.inflateTakeover),
      clientNoContextTakeover: !(server ? d.inflateTakeover : d.deflateTakeover),
      serverMaxWindowBits: server ? d.ownWindowBits : d.peerWindowBits,
      clientMaxWindowBits: server ? d.peerWindowBits : d.ownWindowBits,
    },
    { threshold: d.threshold },
  );
}

class Recorder implements ConnectionHandler, ConnectionOutput {
  readonly events: FuzzEvent[] = [];
  readonly writes: Buffer[] = [];
  closeTransportCalls = 0;
  paused = false;
  sendsAccepted = 0;
  sendCallbacks = 0;
  thrown: string | null = null;
  conn: Connection | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly c: FuzzCase) {}

  private readonly sent = (): void => {
    this.sendCallbacks++;
    this.notify();
  };

  notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Resolves at the next write, callback or closeTransport. */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    const whole = Array.isArray(data) ? Buffer.concat(data) : data;
    this.events.push({ type: 'message', binary: isBinary, data: whole });
    if (this.c.echo && this.conn !== null) {
      try {
        if (this.conn.send(whole, isBinary, undefined, this.sent)) this.sendsAccepted++;
      } catch (error) {
        this.thrown ??= `send: ${describe(error)}`;
      }
    }
  }
  onPing(payload: Buffer): void {
    this.events.push({ type: 'ping', data: Buffer.from(payload) });
  }
  onPong(payload: Buffer): void {
    this.events.push({ type: 'pong', data: Buffer.from(payload) });
  }
  onCloseFrame(code: number, reason: Buffer): void {
    this.events.push({ type: 'close', code, reason: Buffer.from(reason) });
  }
  onFail(error: ProtocolError): void {
    this.events.push({ type: 'fail', code: error.closeCode, error: error.code });
  }

  write(data: Buffer, cb?: WriteCallback): void {
    this.writes.push(Buffer.from(data));
    if (cb) process.nextTick(cb, null);
    this.notify();
  }
  closeTransport(): void {
    this.closeTransportCalls++;
    this.notify();
  }
  pauseInput(): void {
    this.paused = true;
  }
  resumeInput(): void {
    this.paused = false;
  }
}

/**
 * Feed `c.input` cut at `cuts` (sorted offsets inside it); with
 * `settleBetween`, wait for held input to be processed after each piece, as
 * a driver that pauses reading does. Each run gets its own copy of the input
 * (the parser unmasks in place).
 */
export async function runCase(c: FuzzCase, cuts: readonly number[], settleBetween: boolean, factory: CoreFactory = realCore): Promise<Outcome> {
  const rec = new Recorder(c);
  const conn = factory(settingsFor(c), rec, rec, transformFor(c));
  conn.deliverFragments = c.deliverFragments;
  rec.conn = conn;
  const input = Buffer.from(c.input);
  let hang: string | null = null;
  const call = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      rec.thrown ??= `${what}: ${describe(error)}`;
    }
  };
  if (c.closeFirst) call('close', () => conn.close(1000, 'fuzz'));
  let from = 0;
  for (const to of [...cuts, input.length]) {
    if (to < from) continue;
    const piece = input.subarray(from, to);
    from = to;
    if (piece.length === 0 && to !== input.length) continue;
    call('receiveData', () => conn.receiveData(piece));
    if (settleBetween) hang ??= await settled(conn, rec);
  }
  if (c.eof) call('receiveEof', () => conn.receiveEof());
  hang ??= await settled(conn, rec);
  // Echoes and the Close frame may wait behind a compression.
  if (hang === null) hang = await written(conn, rec);
  const outcome: Outcome = {
    events: rec.events,
    output: Buffer.concat(rec.writes),
    cause: conn.lifecycle.cause,
    phase: conn.lifecycle.phase,
    closeCode: conn.lifecycle.closeCode,
    closeTransportCalls: rec.closeTransportCalls,
    sendsAccepted: rec.sendsAccepted,
    sendCallbacks: rec.sendCallbacks,
    thrown: rec.thrown,
    hang,
    paused: rec.paused,
  };
  call('transportClosed', () => conn.transportClosed());
  outcome.thrown = rec.thrown;
  return outcome;
}

/** Null once no input is held (at once when nothing is), else what hung. */
async function settled(conn: Connection, rec: Recorder): Promise<string | null> {
  let done = false;
  let wake: (() => void) | null = null;
  try {
    conn.whenInputSettled(() => {
      done = true;
      wake?.();
    });
  } catch (error) {
    rec.thrown ??= `whenInputSettled: ${describe(error)}`;
    return null;
  }
  if (done) return null;
  const timer = setTimeout(() => wake?.(), HANG_MS);
  await new Promise<void>((resolve) => (wake = resolve));
  clearTimeout(timer);
  return done ? null : `input still held after ${HANG_MS} ms`;
}

/** Null once every accepted echo was written and, if frames stopped, the transport was asked to close. */
async function written(conn: Connection, rec: Recorder): Promise<string | null> {
  const pending = (): boolean =>
    rec.sendCallbacks < rec.sendsAccepted || (conn.lifecycle.cause !== 0 && conn.lifecycle.cause !== 3 && rec.closeTransportCalls === 0);
  if (!pending()) return null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    rec.notify();
  }, HANG_MS);
  while (pending() && !timedOut) await rec.changed();
  clearTimeout(timer);
  return timedOut ? `${rec.sendsAccepted - rec.sendCallbacks} echoes unwritten or no closeTransport after ${HANG_MS} ms` : null;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
