/**
 * `hyperws connect --reconnect`: a Link (connect-link.ts) over the library's
 * ReconnectingWebSocket. It decides nothing the library does not: which
 * closes reconnect (defaultShouldReconnect: not after a server's 1000 or
 * 1008, nor a 4xx refusal other than 408/429), the backoff with full jitter,
 * 1012/1013 and a 503's Retry-After, the bounded queue. It adds the status
 * lines: per failed attempt its cause and "reconnecting in 1.2s (attempt
 * 3)...", "connected (again) to ..." on each reopening, and why it stopped.
 */
import { WebSocket } from '../node/websocket.js';
import type { ClientOptions } from '../node/client-connect.js';
import { ReconnectingWebSocket } from '../reconnect/node.js';
import { defaultShouldReconnect, type CloseInfo } from '../reconnect/reconnector.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, printable } from './args.js';
import { NORMAL_CLOSE_CODES, closedLine, connectedLine, describeFailure, type Link, type LinkEvents, type LinkOptions } from './connect-link.js';

export interface ReconnectSettings {
  /** The cap of the first wait, ms (the library's initialDelay). */
  delay: number;
  /** The largest cap, ms (maxDelay). */
  maxDelay: number;
  /** Failed attempts in a row before giving up (maxAttempts). */
  attempts: number;
}

const SCHEMES = new Set(['ws:', 'wss:', 'http:', 'https:']);

/** "250ms", "1.2s". */
export function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function reconnectingLink(options: LinkOptions, clientOptions: ClientOptions, settings: ReconnectSettings, events: LinkEvents): Link {
  // The library reports a bad URL as a failed attempt; the command line wants it as a usage error.
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (error) {
    throw new UsageError(`invalid URL '${printable(options.url)}': ${(error as Error).message}`);
  }
  if (!SCHEMES.has(url.protocol)) throw new UsageError(`invalid URL '${printable(options.url)}': the scheme must be ws:, wss:, http: or https:`);

  let ended = false;
  let opens = 0;
  /** The attempt's socket, its HTTP/1.1 upgrade, and its error before it opened. */
  let attemptSocket: WebSocket | null = null;
  let upgraded = false;
  let attemptError: Error | null = null;
  /** An error on the open connection: its close then counts as a failure. */
  let lastError: Error | null = null;
  /** The last close the library was asked about, and its answer. */
  let lastInfo: CloseInfo | null = null;
  let retried = false;
  /** Set by close(): whether the connection was open when the user ended it. */
  let userClose: { wasOpen: boolean; queued: number } | null = null;
  let flushed = 0;

  const rws = new ReconnectingWebSocket(options.url, options.subprotocols, {
    ...clientOptions,
    initialDelay: settings.delay,
    maxDelay: settings.maxDelay,
    maxAttempts: settings.attempts,
    shouldReconnect: (info) => {
      lastInfo = info;
      retried = defaultShouldReconnect(info);
      return retried;
    },
    onConnecting: (socket) => {
      attemptSocket = socket;
      upgraded = false;
      attemptError = null;
      if (options.http2 !== false) socket.once('upgrade', (res: { httpVersion: string }) => (upgraded = res.httpVersion !== '2.0'));
    },
    beforeFlush: () => {
      flushed = rws.queuedMessages;
    },
  });

  /** Why an attempt that never opened failed. */
  const failure = (info: CloseInfo): string => {
    if (info.status !== undefined) {
      const wait = info.retryAfterMs === undefined ? '' : ` (Retry-After ${formatDelay(info.retryAfterMs)})`;
      return `hyperws connect: handshake refused: HTTP ${info.status}${wait}`;
    }
    const at = attemptSocket?.url ?? options.url;
    return `hyperws connect: ${attemptError === null ? `connection to ${at} failed (${info.code})` : describeFailure(attemptError, at, options.insecure)}`;
  };
  const end = (code: number, lastLine?: string) => {
    if (ended) return;
    ended = true;
    events.ended(code, lastLine);
  };
  const isOpen = () => rws.readyState === ReconnectingWebSocket.OPEN && rws.socket?.readyState === WebSocket.OPEN;

  rws.on('open', (socket: WebSocket) => {
    lastError = null;
    const line = connectedLine(socket, options, upgraded, opens++ === 0 ? 'connected to' : 'connected (again) to');
    events.opened(socket, flushed > 0 ? `${line}; ${flushed} queued message${flushed === 1 ? '' : 's'} sent` : line);
    flushed = 0;
  });
  rws.on('message', (data: Buffer, isBinary: boolean) => events.message(data, isBinary));
  rws.on('error', (error: Error) => {
    if (ended) return;
    if (isOpen()) {
      lastError = error;
      events.status(`hyperws connect: error: ${printable(error.message)}`);
    } else {
      attemptError = error;
    }
  });
  rws.on('reconnecting', (attempt: number, delay: number, info: CloseInfo) => {
    events.status(info.opened ? closedLine(info.code, info.reason) : failure(info));
    events.status(`reconnecting in ${formatDelay(delay)} (attempt ${attempt})...`);
  });
  rws.on('close', (code: number, reason: string) => {
    if (userClose !== null) {
      if (userClose.wasOpen) return end(NORMAL_CLOSE_CODES.has(code) && lastError === null ? EXIT_OK : EXIT_FAILURE, closedLine(code, reason));
      const dropped = userClose.queued > 0 ? ` (${userClose.queued} queued message${userClose.queued === 1 ? '' : 's'} dropped)` : '';
      return end(EXIT_OK, `closed while not connected${dropped}`);
    }
    const info: CloseInfo | null = lastInfo;
    if (info === null) return end(EXIT_FAILURE, `hyperws connect: cannot connect to ${options.url}`);
    const cause = info.opened ? closedLine(info.code, info.reason) : failure(info);
    if (retried) {
      events.status(cause);
      return end(EXIT_FAILURE, `hyperws connect: giving up after ${settings.attempts} reconnection attempt${settings.attempts === 1 ? '' : 's'}`);
    }
    if (info.opened) return end(NORMAL_CLOSE_CODES.has(code) && lastError === null ? EXIT_OK : EXIT_FAILURE, `${cause} (not reconnecting)`);
    return end(EXIT_FAILURE, `${cause} (not retried)`);
  });

  return {
    reconnects: true,
    get socket() {
      return isOpen() ? rws.socket : null;
    },
    get queued() {
      return rws.queuedMessages;
    },
    send(data, binary) {
      const socket = isOpen() ? rws.socket : null;
      if (socket !== null) socket.send(data, { binary });
      else rws.send(binary || typeof data === 'string' ? data : data.toString('utf8'));
    },
    close(code, reason) {
      if (userClose === null) userClose = { wasOpen: isOpen(), queued: rws.queuedMessages };
      rws.close(code, reason);
    },
    terminate() {
      if (userClose === null) userClose = { wasOpen: isOpen(), queued: rws.queuedMessages };
      const socket = rws.socket;
      rws.close();
      socket?.terminate();
    },
  };
}
