/**
 * The connection under a `hyperws connect` session: one WebSocket
 * (plainLink, here) or a ReconnectingWebSocket (connect-reconnect.ts). A
 * link owns its socket's events and the status lines about connecting and
 * closing, and decides the exit status; the session (connect.ts) owns stdin,
 * stdout, slash commands, timers and signals, and reaches the socket only
 * through the Link interface.
 */
import type { IncomingMessage } from 'node:http';
import { WebSocket } from '../node/websocket.js';
import type { ClientOptions } from '../node/client-connect.js';
import { ProxyError } from '../node/proxy/index.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, printable } from './args.js';
import { clientCertificateRequired, insecureWouldHelp } from './tls-files.js';

/** What a link needs of the command line (a subset of ConnectOptions). */
export interface LinkOptions {
  url: string;
  subprotocols: string[];
  insecure: boolean;
  http2: boolean | 'auto';
}

export interface Link {
  /** True when it reconnects: lines sent while not open are queued. */
  readonly reconnects: boolean;
  /** The WebSocket while it is open; null before, between reconnections and after. */
  readonly socket: WebSocket | null;
  /** Messages queued while not open (reconnecting links only). */
  readonly queued: number;
  /** A data message: sent when open; queued while reconnecting (QueueFullError when full). */
  send(data: string | Buffer, binary: boolean): void;
  /** The user's end (input ended, /close, a signal, --execute done): no reconnection follows. */
  close(code?: number, reason?: string): void;
  /** Drop the connection at once (a second signal, or after a failure was reported). */
  terminate(): void;
}

/** What a link tells the session. */
export interface LinkEvents {
  /** A connection opened (`line`: the "connected to ..." status line). */
  opened(socket: WebSocket, line: string): void;
  message(data: Buffer, isBinary: boolean): void;
  /** A status line for stderr. */
  status(line: string): void;
  /** The end: the exit status, and a last stderr line. */
  ended(code: number, lastLine?: string): void;
}

/** Close codes that count as a normal end (exit status 0). */
export const NORMAL_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005]);
/** Refusal bodies are read up to this size: only their first line is shown. */
const REFUSAL_BODY_LIMIT = 4096;
const TLS_ERROR = /CERT|SSL|TLS|^EPROTO$|UNABLE_TO_|VERIFY/;
/** OpenSSL's long form: "806C...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:file:line:SSL alert number 116". */
const OPENSSL_MESSAGE = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):.*?(?::(SSL alert number \d+))?\s*$/s;

function tlsHint(code: string, insecure: boolean): string {
  if (clientCertificateRequired(code)) return ' (the server asks for a client certificate: --cert and --key)';
  return insecureWouldHelp(code) && !insecure ? ' (--insecure skips verification)' : '';
}

/** One line for an error before the connection opened. */
export function describeFailure(error: Error & { code?: string; errors?: Array<{ code?: string }> }, url: string, insecure: boolean): string {
  if (error instanceof ProxyError) return `proxy error (${error.code}): ${printable(error.message)}`;
  const code = error.code ?? error.errors?.find((e) => e.code)?.code;
  if (code !== undefined && TLS_ERROR.test(code)) {
    const openssl = OPENSSL_MESSAGE.exec(error.message);
    const message = openssl ? `${openssl[1]}${openssl[2] ? ` (${openssl[2]})` : ''}` : error.message.trim();
    return `TLS error connecting to ${url}: ${code}: ${printable(message)}${tlsHint(code, insecure)}`;
  }
  // An errno code says it all (ECONNREFUSED); Node's own (ERR_HTTP2_ERROR...) need their message.
  if (code !== undefined) return `cannot connect to ${url}: ${code}${code.startsWith('ERR_') ? `: ${printable(error.message.trim())}` : ''}`;
  return `handshake failed: ${printable(error.message)}`;
}

/** "closed: CODE REASON". */
export function closedLine(code: number, reason: string): string {
  return `closed: ${code}${reason.length > 0 ? ` ${printable(reason)}` : ''}`;
}

/** "connected to URL (HTTP/2) (subprotocol: P) (extensions: E)"; `upgraded`: the HTTP/1.1 handshake was used. */
export function connectedLine(ws: WebSocket, options: LinkOptions, upgraded: boolean, prefix = 'connected to'): string {
  const over = options.http2 === false ? '' : upgraded ? ' (HTTP/1.1)' : ' (HTTP/2)';
  return `${prefix} ${ws.url}${over}${ws.protocol ? ` (subprotocol: ${ws.protocol})` : ''}${ws.extensions ? ` (extensions: ${ws.extensions})` : ''}`;
}

/** One WebSocket: the session ends when it closes. */
export function plainLink(options: LinkOptions, clientOptions: ClientOptions, events: LinkEvents): Link {
  let ws: WebSocket;
  try {
    ws = new WebSocket(options.url, options.subprotocols, clientOptions);
  } catch (error) {
    throw new UsageError(`invalid URL '${printable(options.url)}': ${(error as Error).message}`);
  }
  let opened = false;
  let ended = false;
  let lastError: Error | null = null;
  const end = (code: number, lastLine?: string) => {
    if (ended) return;
    ended = true;
    events.ended(code, lastLine);
  };
  // With --http2(-auto), the 'upgrade' response's httpVersion tells which handshake opened.
  let upgraded = false;
  if (options.http2 !== false) ws.once('upgrade', (res: IncomingMessage) => (upgraded = res.httpVersion !== '2.0'));

  ws.on('unexpected-response', (_req: unknown, res: IncomingMessage) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const report = () => {
      if (ended) return;
      const body = Buffer.concat(chunks).toString('utf8');
      const firstLine = body.split(/\r?\n/, 1)[0]!.trim();
      events.status(`hyperws connect: handshake refused: HTTP ${res.statusCode} ${printable(res.statusMessage ?? '')}${firstLine ? `: ${printable(firstLine)}` : ''}`);
      end(EXIT_FAILURE);
      ws.terminate();
    };
    res.on('data', (chunk: Buffer) => {
      if (size >= REFUSAL_BODY_LIMIT) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size >= REFUSAL_BODY_LIMIT) report();
    });
    res.on('end', report);
    res.on('error', report);
  });

  ws.on('error', (error: Error) => {
    if (ended) return;
    if (!opened) {
      events.status(`hyperws connect: ${describeFailure(error, ws.url, options.insecure)}`); // after -L: where it failed
      end(EXIT_FAILURE);
      return;
    }
    lastError = error;
    events.status(`hyperws connect: error: ${printable(error.message)}`);
  });
  ws.on('open', () => {
    opened = true;
    events.opened(ws, connectedLine(ws, options, upgraded));
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => events.message(data, isBinary));
  ws.on('close', (code: number, reason: Buffer) => {
    if (!opened) {
      // The error listener has reported why (or a signal interrupted us).
      if (!ended) events.status('hyperws connect: connection failed');
      end(EXIT_FAILURE);
      return;
    }
    end(NORMAL_CLOSE_CODES.has(code) && lastError === null ? EXIT_OK : EXIT_FAILURE, closedLine(code, reason.toString()));
  });

  return {
    reconnects: false,
    get socket() {
      return ws.readyState === WebSocket.OPEN ? ws : null;
    },
    queued: 0,
    send(data, binary) {
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary });
    },
    close(code, reason) {
      ws.close(code, reason);
    },
    terminate() {
      ws.terminate();
    },
  };
}
