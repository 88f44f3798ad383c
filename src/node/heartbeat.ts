/**
 * Server heartbeat (opt-in): one timer for the whole server, not one per
 * connection. A client we have not heard from for `intervalMs` gets a ping;
 * if nothing at all arrives within `timeoutMs` after it, the connection is
 * terminated ('close' reports 1006). Any incoming data counts as a sign of
 * life, not only the pong.
 */
import type { WebSocket } from './websocket.js';
import { ReadyState } from './ready-state.js';

export interface HeartbeatOptions {
  /** Idle time before a ping is sent, in ms. */
  intervalMs: number;
  /** Time to wait for any data after the ping before terminating, in ms. */
  timeoutMs: number;
}

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;

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
    ws._heardFrom = false;
    ws._lastSeen = Date.now();
    ws._pingSentAt = 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(now: number): void {
    for (const ws of this.clients()) {
      if (ws.readyState !== ReadyState.OPEN) continue;
      if (ws._heardFrom) {
        ws._heardFrom = false;
        ws._lastSeen = now;
        ws._pingSentAt = 0;
      }
      if (ws._pingSentAt !== 0) {
        if (now - ws._pingSentAt >= this.options.timeoutMs) ws.terminate();
      } else if (now - ws._lastSeen >= this.options.intervalMs) {
        ws._pingSentAt = now;
        ws.ping();
      }
    }
  }
}
