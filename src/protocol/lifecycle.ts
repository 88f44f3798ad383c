/**
 * A connection's life as one explicit value (tungstenite's enum is the
 * model): a phase, and once frames stop, why they stopped. Every question
 * asked about the state (may we send? may we read? was it clean? who closes
 * the transport? which readyState, which close code?) is answered here and
 * nowhere else.
 *
 *            close()                      peer's Close
 *   Open ─────────────> ClosingByUs ───────────────────────┐
 *    │  peer's Close (answered at once)                    v
 *    ├─────────────────────────────────────────────> Closing (Clean)
 *    │  protocol error ────────────────────────────> Closing (Failed)   from ClosingByUs too
 *    │  peer's EOF ────────────────────────────────> Closing (Eof)      from ClosingByUs too
 *    │  abort() ───────────────────────────────────> Closing (Aborted)  from anywhere but Closed
 *    └─ transport closed (from any phase) ─────────> Closed   (cause kept; Aborted if none yet)
 *
 * There is no ClosingByPeer phase: the core answers a peer's Close at once
 * (RFC 6455 5.5.1), so the handshake completes in the same step.
 *
 * Owns: the phase, the cause and the Close frames sent and received. Must not
 * touch: frames, bytes or timers (connection.ts drives the transitions).
 */
import { CloseCode } from './close-code.js';
import type { ProtocolError } from './errors.js';
import type { Role } from './options.js';

export const Phase = {
  /** Data flows both ways. */
  Open: 1,
  /** Our Close frame is sent; the peer's frames are still read until its Close. */
  ClosingByUs: 2,
  /** No more frames either way (see the cause); the transport is closing. */
  Closing: 3,
  /** The transport is closed: nothing more happens. */
  Closed: 4,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** Why frames stopped. */
export const Cause = {
  /** Frames still flow. */
  None: 0,
  /** Close frames went both ways: the closing handshake is complete. */
  Clean: 1,
  /** We failed the connection (RFC 6455 7.1.7) with a close code. */
  Failed: 2,
  /** The peer ended its byte stream before the closing handshake completed. */
  Eof: 3,
  /** Stopped locally (terminate, transport error or close timeout) before the handshake completed. */
  Aborted: 4,
} as const;
export type Cause = (typeof Cause)[keyof typeof Cause];

export interface CloseFrame {
  readonly code: number;
  readonly reason: Buffer;
}

const EMPTY: Buffer = Buffer.alloc(0);

/** The WebSocket API's readyState for each phase (CONNECTING belongs to the opening handshake). */
const READY_STATE = [0, 1, 2, 2, 3] as const;

/** What closing leaves behind; created when closing begins, so an open connection carries none. */
interface CloseRecord {
  sent: CloseFrame | null;
  received: CloseFrame | null;
  failure: ProtocolError | null;
}

export class Lifecycle {
  phase: Phase = Phase.Open;
  cause: Cause = Cause.None;
  private record: CloseRecord | null = null;

  /** Our Close frame (1005 when it carried no code), once sent. */
  get closeSent(): CloseFrame | null {
    return this.record?.sent ?? null;
  }

  /** The peer's Close frame (1005 when it carried no code), once received. */
  get closeReceived(): CloseFrame | null {
    return this.record?.received ?? null;
  }

  /** The error that failed the connection, if it failed. */
  get failure(): ProtocolError | null {
    return this.record?.failure ?? null;
  }

  /** Can application data, pings and pongs still be sent? (not after our Close frame) */
  get canSend(): boolean {
    return this.phase === Phase.Open;
  }

  /** Are the peer's frames still read? */
  get canRead(): boolean {
    return this.phase <= Phase.ClosingByUs;
  }

  /** Did Close frames go both ways? */
  get wasClean(): boolean {
    return this.cause === Cause.Clean;
  }

  /** The WebSocket API's readyState: OPEN, CLOSING (both closing phases) or CLOSED. */
  get readyState(): 1 | 2 | 3 {
    return READY_STATE[this.phase] as 1 | 2 | 3;
  }

  /** The close code reported to the application: the peer's, ours on failure, else 1006. */
  get closeCode(): number {
    const record = this.record;
    if (record?.received) return record.received.code;
    if (record?.failure) return record.failure.closeCode;
    return CloseCode.AbnormalClosure;
  }

  get closeReason(): Buffer {
    return this.closeReceived?.reason ?? EMPTY;
  }

  /**
   * Once frames stop, does this side close the transport now? RFC 6455 5.5.1
   * and 7.1.1: the server closes TCP first; after a clean close a client waits
   * for the server's FIN (bounded by its close timeout), but a client that
   * failed the connection or saw EOF does not wait.
   */
  closesTransportFirst(role: Role): boolean {
    return role === 'server' || this.cause !== Cause.Clean;
  }

  // Transitions: called by the Connection only.

  /** Our Close frame went out. */
  sentClose(frame: CloseFrame): void {
    this.closing().sent = frame;
    if (this.phase === Phase.Open) this.phase = Phase.ClosingByUs;
  }

  /** The peer's Close frame arrived (ours is sent in answer, if it was not already). */
  receivedClose(frame: CloseFrame): void {
    this.closing().received = frame;
    this.stop(Cause.Clean);
  }

  failed(error: ProtocolError): void {
    this.closing().failure = error;
    this.stop(Cause.Failed);
  }

  eof(): void {
    this.stop(Cause.Eof);
  }

  aborted(): void {
    this.stop(Cause.Aborted);
  }

  transportClosed(): void {
    this.stop(Cause.Aborted);
    this.phase = Phase.Closed;
  }

  private closing(): CloseRecord {
    return (this.record ??= { sent: null, received: null, failure: null });
  }

  /** Frames stop for `cause`, unless they already stopped (the first cause stays). */
  private stop(cause: Cause): void {
    if (this.cause !== Cause.None) return;
    this.cause = cause;
    if (this.phase < Phase.Closing) this.phase = Phase.Closing;
  }
}
