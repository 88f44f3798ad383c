/**
 * The client's opening handshake over HTTP/2 (RFC 8441): `new WebSocket(url,
 * { http2: true | 'auto' })`. A WebSocket is one Extended CONNECT stream of a
 * session to its origin; WebSockets to the same origin (and TLS settings)
 * share sessions, each carrying at most http2MaxStreams of them (and no more
 * than the server's SETTINGS_MAX_CONCURRENT_STREAMS).
 *
 * 'auto' falls back to the HTTP/1.1 upgrade (client-connect.ts) when ALPN
 * does not give h2 (the TLS connection is then reused for it), when the
 * server's SETTINGS do not enable Extended CONNECT (RFC 8441 3), and for ws:
 * URLs (cleartext HTTP/2 has no negotiation). true insists: over ws: it
 * speaks h2c with prior knowledge (RFC 9113 3.3), and it fails where 'auto'
 * would fall back.
 *
 * Owns: the session pool, ALPN, waiting for the server's SETTINGS, the
 * stream's request and response. Must not touch: the fields' rules
 * (src/handshake/extended-connect.ts) and the WebSocket on the stream (the
 * driver runs it like any duplex).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import type { EventEmitter } from 'node:events';
import { buildExtendedConnectRequest, formatExtensions, validateExtendedConnectResponse, webSocketUrl } from '../handshake/index.js';
import { acceptedTransform } from '../extensions/extension.js';
import { clientPerMessageDeflate } from '../extensions/permessage-deflate/index.js';
import { DEFAULTS, resolveSettings, type MessageTransform } from '../protocol/index.js';
import { ClientHandshake, maskKeysFrom, type ClientOptions, type HandshakeOutcome } from './client-connect.js';
import { ReadyState } from './ready-state.js';
import { Http2Response } from './http2-response.js';

const EMPTY = Buffer.alloc(0);

/** The TLS options that make two sessions to one origin different (a session is shared only when they agree). */
const TLS_KEYS = [
  'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'checkServerIdentity', 'ciphers',
  'minVersion', 'maxVersion', 'secureContext', 'crl', 'ecdhCurve', 'sigalgs', 'family', 'localAddress', 'lookup',
] as const;

/** A session of the pool, or one being connected. */
interface Pooled {
  readonly key: string;
  /** Resolves to the session, or to 'http/1.1' (with the TLS socket ALPN gave it, for the first taker). */
  readonly ready: Promise<ClientHttp2Session | Fallback>;
  session: ClientHttp2Session | null;
  /** WebSockets (open or opening) on it. */
  streams: number;
  limit: number;
}

interface Fallback {
  readonly fallback: true;
  socket: TLSSocket | null;
}

const pool = new Map<string, Pooled[]>();

/** Sessions currently pooled, per origin (for tests and the bench). */
export function http2SessionCount(origin?: string): number {
  let n = 0;
  for (const [key, entries] of pool) if (origin === undefined || key.startsWith(`${origin}|`)) n += entries.length;
  return n;
}

function poolKey(url: URL, options: ClientOptions): string {
  const tls: unknown[] = [];
  for (const name of TLS_KEYS) {
    const value = (options as Record<string, unknown>)[name];
    tls.push(Buffer.isBuffer(value) ? value.toString('base64') : typeof value === 'function' ? value : value);
  }
  // Functions (lookup, checkServerIdentity) are compared by identity; the stream cap is part of the key.
  return `${url.protocol}//${url.host}|${options.http2MaxStreams ?? ''}|${tls.map((v) => (typeof v === 'function' ? functionId(v as object) : JSON.stringify(v ?? null))).join('|')}`;
}

const functionIds = new WeakMap<object, number>();
let nextFunctionId = 0;
function functionId(fn: object): string {
  let id = functionIds.get(fn);
  if (id === undefined) functionIds.set(fn, (id = ++nextFunctionId));
  return `fn${id}`;
}

/** A place on a session with room, or a new session. */
function lease(url: URL, options: ClientOptions, mode: true | 'auto'): Pooled {
  const key = poolKey(url, options);
  const entries = pool.get(key) ?? [];
  for (const entry of entries) {
    if (entry.streams < entry.limit && (entry.session === null || (!entry.session.closed && !entry.session.destroyed))) {
      entry.streams++;
      return entry;
    }
  }
  const limit = options.http2MaxStreams ?? DEFAULTS.http2MaxConcurrentStreams;
  const entry: Pooled = { key, ready: connectSession(url, options, mode), session: null, streams: 1, limit };
  entries.push(entry);
  pool.set(key, entries);
  entry.ready.then(
    (result) => {
      if ('fallback' in result) return forget(entry);
      entry.session = result;
      // RFC 9113 5.1.2: no more streams than the server allows at once.
      entry.limit = Math.min(entry.limit, result.remoteSettings.maxConcurrentStreams ?? Infinity);
      result.once('close', () => forget(entry));
      if (entry.streams === 0) result.close();
    },
    () => forget(entry),
  );
  return entry;
}

function forget(entry: Pooled): void {
  const entries = pool.get(entry.key);
  if (entries === undefined) return;
  const i = entries.indexOf(entry);
  if (i >= 0) entries.splice(i, 1);
  if (entries.length === 0) pool.delete(entry.key);
}

/** A WebSocket is done with its place: the last one closes the session (GOAWAY). */
function release(entry: Pooled): void {
  if (--entry.streams > 0) return;
  const session = entry.session;
  if (session !== null && !session.closed) {
    forget(entry);
    session.close();
  }
}

/**
 * Connect a session: TLS with ALPN (h2, and http/1.1 with 'auto'), or h2c;
 * then wait for the server's SETTINGS, which must enable Extended CONNECT
 * before a client uses it (RFC 8441 3).
 */
function connectSession(url: URL, options: ClientOptions, mode: true | 'auto'): Promise<ClientHttp2Session | Fallback> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'wss:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || (secure ? 443 : 80));
    const origin = `${secure ? 'https' : 'http'}://${url.host}`;
    const withSession = (session: ClientHttp2Session) => {
      session.on('error', (error) => reject(error));
      session.once('close', () => reject(new Error('The HTTP/2 session closed before the server sent its SETTINGS')));
      session.once('remoteSettings', (settings) => {
        if (settings.enableConnectProtocol === true) {
          // RFC 9113 6.9.2: the session's receive window starts at 64 KiB for all streams together.
          session.setLocalWindowSize(DEFAULTS.http2SessionWindowSize);
          return resolve(session);
        }
        session.close();
        if (mode === 'auto') return resolve({ fallback: true, socket: null });
        reject(new Error('The server does not accept WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)'));
      });
    };
    if (!secure) return withSession(http2.connect(origin, { host: hostname, port } as http2.SecureClientSessionOptions));
    const tlsOptions: ConnectionOptions = { host: hostname, port, ALPNProtocols: mode === 'auto' ? ['h2', 'http/1.1'] : ['h2'] };
    for (const name of TLS_KEYS) {
      const value = (options as Record<string, unknown>)[name];
      if (value !== undefined) (tlsOptions as Record<string, unknown>)[name] = value;
    }
    if (tlsOptions.servername === undefined && isIP(hostname) === 0) tlsOptions.servername = hostname;
    const socket = tlsConnect(tlsOptions);
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.removeListener('error', reject);
      if (socket.alpnProtocol === 'h2') return withSession(http2.connect(origin, { createConnection: () => socket }));
      if (mode === 'auto') return resolve({ fallback: true, socket });
      socket.destroy();
      reject(new Error(`The server did not negotiate HTTP/2 (ALPN: ${socket.alpnProtocol || 'none'})`));
    });
  });
}

/**
 * One client's opening handshake over HTTP/2, with the surface the WebSocket
 * expects of ClientHandshake (readyState, url, abort); with 'auto' it may
 * hand over to one.
 */
export class Http2ClientHandshake {
  readyState: ReadyState = ReadyState.CONNECTING;
  private readonly target: URL;
  private fallback: ClientHandshake | null = null;
  private stream: ClientHttp2Stream | null = null;
  /** A refused stream a listener of 'unexpected-response' took. */
  private refused: ClientHttp2Stream | null = null;
  private entry: Pooled | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly events: EventEmitter,
    address: string | URL,
    private readonly protocols: string[],
    private readonly options: ClientOptions,
    private readonly outcome: HandshakeOutcome,
  ) {
    const url = webSocketUrl(address instanceof URL ? address.href : address);
    this.target = url;
    const mode = options.http2 === 'auto' ? 'auto' : true;
    if (url.protocol === 'ws+unix:' || (url.protocol === 'ws:' && mode === 'auto')) {
      this.fallback = new ClientHandshake(events, url, protocols, options, outcome);
      return;
    }
    const deflate = options.perMessageDeflate === false ? null : clientPerMessageDeflate(options.perMessageDeflate === true ? {} : (options.perMessageDeflate ?? {}));
    // Built now, so that bad options throw from the constructor, as over HTTP/1.1.
    const request = buildExtendedConnectRequest({
      url,
      protocols,
      ...(deflate !== null ? { extensions: formatExtensions(deflate.offers()) } : {}),
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
    });
    if (options.handshakeTimeout !== undefined && options.handshakeTimeout > 0) {
      this.timer = setTimeout(() => this.fail(new Error('Opening handshake has timed out')), options.handshakeTimeout);
    }
    const entry = lease(url, options, mode);
    this.entry = entry;
    entry.ready.then(
      (result) => {
        if (this.readyState !== ReadyState.CONNECTING) return this.leave();
        if ('fallback' in result) return this.fallBack(result);
        this.open(result, request, deflate);
      },
      (error: Error) => {
        this.leave();
        this.fail(error);
      },
    );
  }

  get url(): string {
    return this.fallback?.url ?? this.target.href;
  }

  abort(): void {
    this.readyState = ReadyState.CLOSING;
    this.clearTimer();
    this.fallback?.abort();
    const stream = this.stream ?? this.refused;
    this.stream = null;
    this.refused = null;
    if (stream !== null) cancel(stream);
    else this.leave();
  }

  private open(session: ClientHttp2Session, request: Record<string, string>, deflate: ReturnType<typeof clientPerMessageDeflate> | null): void {
    const entry = this.entry!;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(request, { endStream: false });
    } catch (error) {
      this.leave();
      return this.fail(error as Error);
    }
    this.stream = stream;
    // The place on the session is freed when the stream closes, whatever happens to the WebSocket.
    stream.once('close', () => {
      if (this.entry === entry) this.leave();
    });
    stream.on('error', onStreamError);
    stream.once('response', (headers: IncomingHttpHeaders) => {
      if (this.stream !== stream) return;
      this.clearTimer();
      // RFC 8441 5: :status 200 accepts; anything else refuses, as ws reports a non-101.
      if (Number(headers[':status']) !== 200) return this.unexpected(stream, headers);
      // As ws (and client-connect.ts): 'upgrade' with the response before it is checked.
      // (Made only for a listener: most connections have none, and the copy is per connection.)
      if (this.events.listenerCount('upgrade') > 0) this.events.emit('upgrade', new Http2Response(headers, null));
      if (this.stream !== stream) return; // aborted by an 'upgrade' listener
      this.stream = null;
      const result = validateExtendedConnectResponse(headers, { protocols: this.protocols, extensionsOffered: deflate !== null ? [deflate.name] : [] });
      if (!result.ok) {
        cancel(stream);
        return this.fail(new Error(result.reason));
      }
      let extension: MessageTransform | null;
      try {
        extension = acceptedTransform(deflate, result.extensions);
      } catch (error) {
        cancel(stream);
        return this.fail(error as Error);
      }
      stream.removeListener('error', onStreamError);
      const { maxPayload, skipUTF8Validation, autoPong, closeTimeout, fragmentSize, maxBackpressure, backpressurePolicy, idleTimeout, generateMask } = this.options;
      const settings = resolveSettings({
        role: 'client', maxPayload, skipUTF8Validation, autoPong, closeTimeout, fragmentSize, maxBackpressure, backpressurePolicy, idleTimeout,
        maskKeySource: maskKeysFrom(generateMask),
      });
      this.outcome.opened({ stream, head: EMPTY, settings, protocol: result.protocol, extension });
    });
    stream.once('close', () => {
      if (this.stream !== stream) return;
      this.stream = null;
      this.fail(new Error(`The server reset the stream before answering (RST_STREAM code ${stream.rstCode})`));
    });
  }

  /**
   * A refusal (not :status 200): as ws over HTTP/1.1, 'unexpected-response'
   * (request, response) with the stream as the request and a readable
   * response carrying the body. Unhandled, the handshake fails with
   * "Unexpected server response: <status>"; handled, the listener owns the
   * outcome (the WebSocket stays CONNECTING until terminate() or close()).
   */
  private unexpected(stream: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
    const res = new Http2Response(headers, stream);
    // Once the body has been read, our half of the stream ends too (a server
    // that sent a complete response may also have reset it, RFC 9113 8.1).
    res.once('end', () => {
      if (!stream.closed && !stream.writableEnded) stream.end();
    });
    this.stream = null;
    if (this.events.emit('unexpected-response', stream, res)) {
      // terminate() and close() still cancel it (abort()).
      this.refused = stream;
      return;
    }
    res.resume();
    cancel(stream);
    this.fail(new Error(`Unexpected server response: ${res.statusCode}`));
  }

  /** 'auto' and no HTTP/2 WebSockets there: the HTTP/1.1 upgrade, on the TLS connection ALPN gave it if this is its first taker. */
  private fallBack(result: Fallback): void {
    this.leave();
    this.clearTimer();
    const socket = result.socket;
    result.socket = null;
    const options: ClientOptions = socket !== null ? { ...this.options, createConnection: () => socket } : this.options;
    try {
      this.fallback = new ClientHandshake(this.events, this.target, this.protocols, options, this.outcome);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private leave(): void {
    const entry = this.entry;
    if (entry === null) return;
    this.entry = null;
    release(entry);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private fail(error: Error): void {
    this.clearTimer();
    if (this.readyState !== ReadyState.CONNECTING) return;
    this.outcome.failed(error);
  }
}

/**
 * Give up a stream: RST_STREAM CANCEL if it is still open, and destroy it
 * (a refusal's unread body would otherwise keep it, and its session, alive).
 */
function cancel(stream: ClientHttp2Stream): void {
  if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  stream.destroy();
}

function onStreamError(): void {
  // Reported by 'close' (a reset before the answer) or by the failed handshake.
}
