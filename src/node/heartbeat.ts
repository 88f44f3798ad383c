/**
 * Server heartbeat (opt-in): one timer for the whole server, not one per
 * connection. A client we have not heard from for `intervalMs` gets a ping;
 * if nothing at all arrives within `timeoutMs` after it, the connection is
 * terminated ('close' reports 1006). Any incoming data counts as a sign of
 * life, not only the pong.
 *
 * Owns: its timer and each tracked connection's beat (when it was last heard
 * from, when it was pinged), kept here, keyed by the connection. Asks the
 * driver only whether data arrived since the last tick.
 */
import { ReadyState } from './ready-state.js';
import { driverOf, type WebSocket } from './websocket.js';

export interface HeartbeatOptions {
  /** Idle time before a ping is sent, in ms. */
  intervalMs: number;
  /** Time to wait for any data after the ping before terminating, in ms. */
  timeoutMs: number;
}

interface Beat {
  /** When data last arrived (or tracking began), in ms since the epoch. */
  lastSeen: number;
  /** When the unanswered ping went out; 0 when none is pending. */
  pingSentAt: number;
}

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  /** Weakly held: a connection that is gone takes its beat with it. */
  private readonly beats = new WeakMap<WebSocket, Beat>();

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly clients: () => Iterable<WebSocket>,
  ) {
    if (!(options.intervalMs > 0) || !(options.timeoutMs > 0)) {
      throw new RangeError('heartbeat.intervalMs and heartbeat.timeoutMs must be positive numbers');
    }
    // Tick often enough that neither deadline is overshot by more than half of it.
    const tick = Math.max(5, Math.min(options.intervalMs, options.timeoutMs) / 2);
    this.timer = setInterval(() => this.check(Date.now()), tick);
    this.timer.unref();
  }

  track(ws: WebSocket): void {
    driverOf(ws)?.takeActivity(); // what arrived with the handshake does not count
    this.beats.set(ws, { lastSeen: Date.now(), pingSentAt: 0 });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(now: number): void {
    for (const ws of this.clients()) {
      const beat = this.beats.get(ws);
      const driver = driverOf(ws);
      if (beat === undefined || driver === null || ws.readyState !== ReadyState.OPEN) continue;
      if (driver.takeActivity()) {
        beat.lastSeen = now;
        beat.pingSentAt = 0;
      }
      if (beat.pingSentAt !== 0) {
        if (now - beat.pingSentAt >= this.options.timeoutMs) ws.terminate();
      } else if (now - beat.lastSeen >= this.options.intervalMs) {
        beat.pingSentAt = now;
        ws.ping();
      }
    }
  }
}
