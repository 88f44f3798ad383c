// Shared helpers for the interop tests (test/interop/*.test.ts): event
// queues that never miss an event, server start/stop that always releases
// the port, and deterministic payloads. No timers: a hung peer is caught by
// the per-test `timeout` option.

import { once, type EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from '../../src/index.js';

/**
 * Records every `event` emitted by `emitter` from construction on, so that a
 * test can await them one by one without racing the network.
 */
export class Inbox<Args extends unknown[] = unknown[]> {
  private readonly queued: Args[] = [];
  private readonly waiting: Array<(args: Args) => void> = [];
  private readonly listener = (...args: unknown[]): void => {
    const resolve = this.waiting.shift();
    if (resolve) resolve(args as Args);
    else this.queued.push(args as Args);
  };

  constructor(
    private readonly emitter: EventEmitter,
    private readonly event: string,
  ) {
    emitter.on(event, this.listener);
  }

  /** The next event's arguments (already queued or still to come). */
  next(): Promise<Args> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Events received and not yet taken by next(). */
  get pending(): number {
    return this.queued.length;
  }

  dispose(): void {
    this.emitter.removeListener(this.event, this.listener);
  }
}

/** 'message' listener arguments, as both ws and hyperws emit them. */
export type MessageArgs = [data: Buffer, isBinary: boolean];
/** 'close' listener arguments, as both ws and hyperws emit them. */
export type CloseArgs = [code: number, reason: Buffer];

/** `n` bytes of a deterministic, non-repeating-at-256 pattern. */
export function pattern(n: number, seed = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** ASCII text of `n` bytes (a-z cycling with digits, so shifts are visible). */
export function asciiText(n: number): string {
  let s = '';
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const block = alphabet.repeat(Math.ceil(Math.min(n, 4096) / alphabet.length) + 1);
  while (s.length < n) s += block.slice(0, Math.min(block.length, n - s.length));
  return s;
}

export interface OurServer {
  wss: WebSocketServer;
  port: number;
  url: string;
  /** Every connection as [ws, req], in order. */
  connections: Inbox<[WebSocket, import('node:http').IncomingMessage]>;
  /** Closes every client (1001) and the listener; resolves when all are closed. */
  close(): Promise<void>;
}

/** Our WebSocketServer on 127.0.0.1, port 0. */
export async function startOurServer(options: Omit<ServerOptions, 'port' | 'host' | 'server' | 'noServer'> = {}): Promise<OurServer> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  const connections = new Inbox<[WebSocket, import('node:http').IncomingMessage]>(wss, 'connection');
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}/`,
    connections,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        connections.dispose();
        wss.close(() => resolve());
      })),
  };
}

/** Terminates `ws` unless it is already closed, and resolves once 'close' fired. */
export async function terminated(ws: EventEmitter & { readyState: number; terminate(): void }): Promise<void> {
  if (ws.readyState === 3) return;
  const closed = once(ws, 'close');
  ws.terminate();
  await closed;
}
