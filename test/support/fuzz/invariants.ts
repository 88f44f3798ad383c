/**
 * What must hold for every fuzz case, whatever its bytes:
 * - nothing thrown, nothing left hanging, reading not left paused while
 *   frames may still be read;
 * - events are messages, pings and pongs, then at most one terminal event
 *   (the peer's Close or a failure with its close code) and nothing after it;
 *   the lifecycle agrees (cause, close code), and the transport is asked to
 *   close exactly once after a terminal event, never before;
 * - messages respect maxPayload and, unless skipped, are valid UTF-8 text;
 * - what was written is well-formed for the role (masked by clients only):
 *   one pong per ping with its payload, the echoes when the case echoes
 *   (inflated when compressed), and the Close frame last, carrying the
 *   failure's code or the peer's code and reason; when we closed first,
 *   our Close alone (nothing is sent after it);
 * - a valid input gives exactly the events it was built with;
 * - the same input split differently gives the same events, bytes and end.
 */
import { isUtf8 } from 'node:buffer';
import { constants, inflateRawSync } from 'node:zlib';
import { Cause, Phase } from '../../../src/protocol/lifecycle.js';
import type { FuzzCase, FuzzEvent } from './inputs.js';
import type { Outcome } from './core-run.js';
import { readFrames, type ReadFrame } from './wire.js';

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Close codes the core fails a connection with (protocol, UTF-8, too big). */
const FAIL_CODES = new Set([1002, 1007, 1009]);

export function checkOutcome(c: FuzzCase, o: Outcome): string[] {
  const problems: string[] = [];
  if (o.thrown !== null) problems.push(`threw: ${o.thrown}`);
  if (o.hang !== null) problems.push(`hang: ${o.hang}`);
  if (o.phase <= Phase.ClosingByUs && o.paused) problems.push('input left paused while frames may still be read');
  checkEvents(c, o, problems);
  checkOutput(c, o, problems);
  if (c.expected !== null) checkExpected(c, o, problems);
  return problems;
}

function checkEvents(c: FuzzCase, o: Outcome, problems: string[]): void {
  const terminal = o.events.findIndex((e) => e.type === 'close' || e.type === 'fail');
  if (terminal >= 0 && terminal !== o.events.length - 1) {
    problems.push(`events after the terminal ${o.events[terminal]!.type}: ${o.events.slice(terminal + 1).map((e) => e.type).join(',')}`);
  }
  const last = terminal >= 0 ? o.events[terminal]! : null;
  if (last?.type === 'close') {
    if (o.cause !== Cause.Clean) problems.push(`peer's Close received but cause ${o.cause}`);
    if (o.closeCode !== last.code) problems.push(`close event ${last.code} but lifecycle.closeCode ${o.closeCode}`);
  } else if (last?.type === 'fail') {
    if (o.cause !== Cause.Failed) problems.push(`failed but cause ${o.cause}`);
    if (!FAIL_CODES.has(last.code)) problems.push(`failed with unexpected code ${last.code} (${last.error})`);
    if (o.closeCode !== last.code) problems.push(`fail ${last.code} but lifecycle.closeCode ${o.closeCode}`);
  } else {
    const want = c.eof ? Cause.Eof : Cause.None;
    if (o.cause !== want) problems.push(`no terminal event but cause ${o.cause} (eof: ${c.eof})`);
  }
  const wantCloses = last !== null ? 1 : 0;
  if (o.closeTransportCalls !== wantCloses) problems.push(`closeTransport called ${o.closeTransportCalls} times, expected ${wantCloses}`);
  for (const e of o.events) {
    if (e.type !== 'message') continue;
    if (c.maxPayload > 0 && e.data.length > c.maxPayload) problems.push(`message of ${e.data.length} bytes over maxPayload ${c.maxPayload}`);
    if (!e.binary && !c.skipUTF8Validation && !isUtf8(e.data)) problems.push('text message with invalid UTF-8 delivered');
  }
  if (c.echo && o.sendCallbacks !== o.sendsAccepted) problems.push(`${o.sendsAccepted} echoes accepted, ${o.sendCallbacks} callbacks`);
}

function checkOutput(c: FuzzCase, o: Outcome, problems: string[]): void {
  let frames: ReadFrame[];
  try {
    frames = readFrames(o.output);
  } catch (error) {
    problems.push(`output is not well-formed: ${(error as Error).message}`);
    return;
  }
  const masked = c.role === 'client';
  if (frames.some((f) => f.masked !== masked)) problems.push(`output frames masked ${!masked}, role ${c.role}`);
  // After our Close nothing is sent: pings are not answered then.
  const pings = c.closeFirst ? [] : o.events.filter((e) => e.type === 'ping');
  const pongs = frames.filter((f) => f.opcode === 0xa);
  if (pongs.length !== pings.length || pongs.some((f, i) => !f.payload.equals(pings[i]!.data))) {
    problems.push(`${pings.length} pings answered by ${pongs.length} pongs (or payloads differ)`);
  }
  const closes = frames.filter((f) => f.opcode === 0x8);
  const last = o.events.at(-1);
  const terminal = last?.type === 'close' || last?.type === 'fail' ? last : null;
  if (closes.length !== (terminal || c.closeFirst ? 1 : 0) || (closes.length === 1 && frames.at(-1)!.opcode !== 0x8)) {
    problems.push(`${closes.length} Close frames written (must be the last frame: ours first, or only after a terminal event)`);
  } else if (c.closeFirst) {
    if (frames.length !== 1 || !closes[0]!.payload.equals(Buffer.from('\x03\xe8fuzz', 'latin1'))) problems.push('after our Close (1000 fuzz), something else was sent');
  } else if (terminal !== null) {
    const payload = closes[0]!.payload;
    if (terminal.type === 'fail') {
      if (payload.length < 2 || payload.readUInt16BE(0) !== terminal.code) problems.push(`Close frame does not carry the failure's code ${terminal.code}`);
    } else if (terminal.code === 1005 ? payload.length !== 0 : payload.length < 2 || payload.readUInt16BE(0) !== terminal.code || !payload.subarray(2).equals(terminal.reason)) {
      problems.push(`Close frame does not echo the peer's ${terminal.code}`);
    }
  }
  const data = frames.filter((f) => f.opcode !== 0x8 && f.opcode !== 0x9 && f.opcode !== 0xa);
  if (!c.echo || c.closeFirst) {
    if (data.length > 0 || frames.some((f) => f.opcode === 0x9)) problems.push('frames written that nobody sent (or sent after our Close)');
    if (o.sendsAccepted > 0) problems.push(`${o.sendsAccepted} sends accepted after our Close`);
    return;
  }
  checkEchoes(c, o.events, data, problems);
}

/** The echoes, reassembled (and inflated), are the messages received, in order. */
function checkEchoes(c: FuzzCase, events: FuzzEvent[], frames: ReadFrame[], problems: string[]): void {
  const messages = events.filter((e) => e.type === 'message');
  const sent: Array<{ binary: boolean; compressed: boolean; payload: Buffer }> = [];
  let open: { binary: boolean; compressed: boolean; parts: Buffer[] } | null = null;
  for (const f of frames) {
    if (f.opcode === 0) {
      if (open === null || f.rsv !== 0) return void problems.push('echo: stray continuation or RSV on a continuation');
      open.parts.push(f.payload);
    } else {
      if (open !== null || (f.opcode !== 1 && f.opcode !== 2) || (f.rsv & 3) !== 0) return void problems.push(`echo: bad frame opcode ${f.opcode} rsv ${f.rsv}`);
      if (f.rsv === 4 && c.deflate === null) return void problems.push('echo: RSV1 without deflate');
      open = { binary: f.opcode === 2, compressed: f.rsv === 4, parts: [f.payload] };
    }
    if (f.fin) {
      sent.push({ binary: open.binary, compressed: open.compressed, payload: Buffer.concat(open.parts) });
      open = null;
    }
  }
  if (open !== null) problems.push('echo: message left open');
  if (sent.length !== messages.length) return void problems.push(`echo: ${messages.length} messages, ${sent.length} echoed`);
  // With context takeover each message needs the ones before it: inflate them as one stream.
  const inflateAll = c.deflate?.deflateTakeover === true;
  const stream: Buffer[] = [];
  const expectedStream: Buffer[] = [];
  for (let i = 0; i < sent.length; i++) {
    const s = sent[i]!;
    const m = messages[i]! as Extract<FuzzEvent, { type: 'message' }>;
    if (s.binary !== m.binary) return void problems.push(`echo ${i}: binary ${s.binary}, received ${m.binary}`);
    if (s.compressed && m.data.length < c.deflate!.threshold) problems.push(`echo ${i}: ${m.data.length} bytes compressed below threshold ${c.deflate!.threshold}`);
    if (!s.compressed) {
      if (!s.payload.equals(m.data)) return void problems.push(`echo ${i}: payload differs`);
    } else if (inflateAll) {
      stream.push(s.payload, TRAILER);
      expectedStream.push(m.data);
    } else if (!inflate(s.payload, c.deflate!.ownWindowBits).equals(m.data)) {
      return void problems.push(`echo ${i}: inflates to something else`);
    }
  }
  if (stream.length > 0 && !inflate(Buffer.concat(stream), c.deflate!.ownWindowBits, false).equals(Buffer.concat(expectedStream))) {
    problems.push('echo: the context-takeover stream inflates to something else');
  }
}

function inflate(payload: Buffer, windowBits: number, addTrailer = true): Buffer {
  try {
    return inflateRawSync(addTrailer ? Buffer.concat([payload, TRAILER]) : payload, { windowBits: Math.max(9, windowBits), finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.from('<invalid deflate data>');
  }
}

function checkExpected(c: FuzzCase, o: Outcome, problems: string[]): void {
  const expected = c.expected!;
  if (expected.overLimit) {
    const got = o.events.filter((e) => e.type === 'message');
    const want = expected.events.filter((e) => e.type === 'message');
    if (!sameEvents(got, want)) problems.push(`valid input over maxPayload: ${got.length} messages delivered, expected ${want.length}`);
    const last = o.events.at(-1);
    if (last?.type !== 'fail' || last.code !== 1009) problems.push(`valid input over maxPayload ended with ${describeEvent(last)}, expected fail 1009`);
    return;
  }
  if (!sameEvents(o.events, expected.events)) {
    problems.push(`valid input: events [${o.events.map(describeEvent).join(' ')}], expected [${expected.events.map(describeEvent).join(' ')}]`);
  }
}

/** Differences between two runs of the same input split differently. */
export function compareOutcomes(a: Outcome, b: Outcome, label: string): string[] {
  const problems: string[] = [];
  if (!sameEvents(a.events, b.events)) {
    problems.push(`${label}: events [${b.events.map(describeEvent).join(' ')}] instead of [${a.events.map(describeEvent).join(' ')}]`);
  }
  if (!a.output.equals(b.output)) problems.push(`${label}: ${b.output.length} bytes written instead of ${a.output.length} (or different bytes)`);
  if (a.cause !== b.cause || a.phase !== b.phase || a.closeCode !== b.closeCode) {
    problems.push(`${label}: ended cause ${b.cause} phase ${b.phase} code ${b.closeCode}, instead of ${a.cause} ${a.phase} ${a.closeCode}`);
  }
  if (a.closeTransportCalls !== b.closeTransportCalls) problems.push(`${label}: closeTransport ${b.closeTransportCalls} times instead of ${a.closeTransportCalls}`);
  return problems;
}

export function sameEvents(a: readonly FuzzEvent[], b: readonly FuzzEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type) return false;
    switch (x.type) {
      case 'message': {
        const m = y as typeof x;
        if (x.binary !== m.binary || !x.data.equals(m.data)) return false;
        break;
      }
      case 'ping':
      case 'pong':
        if (!x.data.equals((y as typeof x).data)) return false;
        break;
      case 'close': {
        const m = y as typeof x;
        if (x.code !== m.code || !x.reason.equals(m.reason)) return false;
        break;
      }
      case 'fail': {
        const m = y as typeof x;
        if (x.code !== m.code || x.error !== m.error) return false;
      }
    }
  }
  return true;
}

/** A short label for an event, for reports: 'msg:t:12', 'ping:3', 'close:1000', 'fail:1002:WS_ERR_...'. */
export function describeEvent(e: FuzzEvent | undefined): string {
  if (e === undefined) return 'nothing';
  switch (e.type) {
    case 'message':
      return `msg:${e.binary ? 'b' : 't'}:${e.data.length}`;
    case 'ping':
    case 'pong':
      return `${e.type}:${e.data.length}`;
    case 'close':
      return `close:${e.code}`;
    case 'fail':
      return `fail:${e.code}:${e.error}`;
  }
}
