/**
 * The limits every connection has, server or client side, as options of
 * WebSocket and WebSocketServer (defaults in src/protocol/options.ts), and
 * the error a send meets above maxBackpressure (see Driver.admits): a stable
 * code users can branch on, with the figures that tripped it.
 */
import type { BackpressurePolicy } from '../protocol/index.js';

export interface ConnectionLimits {
  /**
   * Unsent bytes a connection may hold before a send (message, ping, pong,
   * publication) meets backpressurePolicy (default 16 MiB; 0 = no limit, as ws).
   * The check is made before each send: one message larger than the limit still goes.
   */
  maxBackpressure?: number;
  /** 'close' with 1008 (default), 'drop' the send (its callback gets the error) or 'error' (send() throws it). */
  backpressurePolicy?: BackpressurePolicy;
  /** Close with 1001 after this many ms without traffic either way (default 0: never). */
  idleTimeout?: number;
}

export interface BackpressureError extends Error {
  code: 'WS_ERR_BACKPRESSURE';
  /** Unsent bytes the connection held when the send was refused. */
  bufferedAmount: number;
  maxBackpressure: number;
  policy: BackpressurePolicy;
}

export function backpressureError(bufferedAmount: number, maxBackpressure: number, policy: BackpressurePolicy): BackpressureError {
  const error = new Error(
    `Backpressure limit exceeded: ${bufferedAmount} bytes unsent, maxBackpressure is ${maxBackpressure} (policy '${policy}')`,
  ) as BackpressureError;
  error.code = 'WS_ERR_BACKPRESSURE';
  error.bufferedAmount = bufferedAmount;
  error.maxBackpressure = maxBackpressure;
  error.policy = policy;
  return error;
}
