/**
 * WebSockets over HTTP/2 (RFC 8441), the Node side: finding the Extended
 * CONNECT streams of an http2 server (ours or the user's), answering one
 * stream's handshake, and the server a WebSocketServer creates for `port`
 * with `http2` (h2 with ALPN and an HTTP/1.1 fallback over TLS, or cleartext
 * h2 with prior knowledge).
 *
 * Owns: SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3), the routing of streams
 * between us and node:http2's compatibility layer, the HEADERS of an answer,
 * the sessions of our own server (their windows, limits, deadline and the
 * GOAWAY at shutdown). Must not touch: what makes a handshake acceptable (the
 * WebSocketServer and src/handshake/extended-connect.ts decide) nor the
 * WebSocket on an accepted stream (the driver runs it like any duplex).
 */
import http2, {
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type SecureServerOptions,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  buildExtendedConnectHeaderLines,
  buildExtendedConnectRejection,
  http2ResponseHeaders,
  isExtendedConnect,
  validateExtendedConnect,
  type ExtendedConnectInfo,
  type HandshakeRejection,
  type RejectHeaders,
} from '../handshake/index.js';
import { DEFAULTS } from '../protocol/index.js';
import { HandshakeGuard, clearHandshakeDeadline } from './handshake-guard.js';
import type { HttpAnswer } from './upgrade-server.js';
import type { RefusalReason } from './server-stats.js';

export type AnyHttp2Server = Http2Server | Http2SecureServer;

/** `http2` of WebSocketServer's options: true, or the options of the server we create (TLS ones make it h2 over TLS). */
export type Http2Option = boolean | Http2EndpointOptions;

export interface Http2EndpointOptions extends SecureServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams (WebSockets and requests) one session may have open at once (default 128). */
  maxConcurrentStreams?: number;
  /** The receive window of a session, shared by its streams, in bytes (default 1 MiB; RFC 9113 6.9.2). */
  sessionWindowSize?: number;
}

const EMPTY = Buffer.alloc(0);
/** Marks a stream the WebSocketServer took, so the compatibility layer's 'connect' leaves it alone. */
const kTaken = Symbol('hyperws.http2WebSocket');
/** On a session of our own server: true once it carries a WebSocket (no longer pending). */
const kOpened = Symbol('hyperws.http2Opened');

/** Does `server` come from node:http2 (createServer or createSecureServer)? */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  return typeof (server as Partial<Http2Server>).updateSettings === 'function';
}

/**
 * One opening handshake over HTTP/2: the Extended CONNECT stream and its
 * request fields. The WebSocketServer drives it as it drives an HTTP/1.1
 * upgrade (see UpgradeHandshake there).
 */
export class StreamHandshake {
  readonly head = EMPTY;
  readonly secure: boolean;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    /** Ms an asynchronous verifyClient has to answer (0: no limit; see WebSocketServer's admit). */
    readonly deadline = 0,
  ) {
    this.secure = stream.session?.encrypted === true;
    stream.on('error', onHandshakeStreamError);
  }

  validate(): ExtendedConnectInfo | HandshakeRejection {
    return validateExtendedConnect(this.headers);
  }

  /** The peer did not reset the stream or close the session while we were deciding. */
  get usable(): boolean {
    return !this.stream.destroyed && !this.stream.closed && !this.stream.headersSent;
  }

  acceptLines(protocol: string | undefined, extensions: string | undefined): string[] {
    return buildExtendedConnectHeaderLines({
      ...(protocol !== undefined ? { protocol } : {}),
      ...(extensions !== undefined ? { extensions } : {}),
    });
  }

  /** :status 200 (RFC 8441 5); throws TypeError if listeners added an invalid line. */
  accept(lines: string[]): Duplex {
    const stream = this.stream;
    stream.respond(http2ResponseHeaders(lines), { endStream: false });
    stream.removeListener('error', onHandshakeStreamError);
    const session = stream.session;
    // On our own server the session had to open a WebSocket within the handshake deadline: it has.
    if (session !== undefined) {
      clearHandshakeDeadline(session.socket as unknown as Duplex);
      (session as OwnSession)[kOpened] = true;
    }
    return stream;
  }

  /**
   * A complete response refuses the stream; then, if the client is still
   * sending, RST_STREAM with NO_ERROR asks it to stop without an error
   * (RFC 9113 8.1). The session and its other streams are not affected.
   */
  refuse(status: number, reason: string, headers?: RejectHeaders): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) return void stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    const answer = buildExtendedConnectRejection(status, reason, headers);
    stream.respond(answer.headers);
    stream.end(answer.body);
    stream.once('finish', closeRefusedStream);
  }

  /** The peer went away meanwhile: nothing to answer. */
  drop(): void {
    // Not a stream already answered (a refusal whose body is on its way).
    if (!this.stream.closed && !this.stream.headersSent) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

function closeRefusedStream(this: ServerHttp2Stream): void {
  if (!this.closed) this.close(http2.constants.NGHTTP2_NO_ERROR);
}

function onHandshakeStreamError(this: ServerHttp2Stream): void {
  this.destroy();
}

/** What the WebSocketServer does with a stream it is handed. */
export type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, req: Http2ServerRequest) => void;

/**
 * Take the Extended CONNECT streams of `server` (a user's or ours) and tell
 * its clients they may open them (RFC 8441 3, for sessions created from now
 * on). Our 'stream' listener goes first; node:http2's compatibility layer
 * (present once the server has a 'request' listener) then still sees the
 * stream and emits 'connect' for it, where ours ignores it; without any
 * 'connect' listener that layer would answer every CONNECT 405, which we
 * keep doing for the CONNECTs that are not ours. Returns the detach function.
 */
export function attachHttp2(server: AnyHttp2Server, onWebSocket: StreamListener): () => void {
  server.updateSettings({ enableConnectProtocol: true });
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    if (!isExtendedConnect(headers)) return;
    (stream as TakenStream)[kTaken] = true;
    onWebSocket(stream, headers, new http2.Http2ServerRequest(stream, headers, undefined as never, rawHeaders));
  };
  const onConnect = (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | Duplex) => {
    if (server.listenerCount('connect') > 1) return; // someone else handles CONNECT
    if ('stream' in req) {
      if (!(req.stream as TakenStream)[kTaken]) {
        (res as Http2ServerResponse).statusCode = 405;
        (res as Http2ServerResponse).end();
      }
    } else {
      (res as Duplex).destroy(); // an HTTP/1.1 CONNECT (allowHTTP1): as node:http does without a listener
    }
  };
  server.prependListener('stream', onStream);
  server.on('connect', onConnect);
  return () => {
    server.removeListener('stream', onStream);
    server.removeListener('connect', onConnect);
  };
}

type TakenStream = ServerHttp2Stream & { [kTaken]?: boolean };
type OwnSession = ServerHttp2Session & { [kOpened]?: boolean };

export interface Http2EndpointHooks {
  handshakeTimeout: number;
  maxPending: number;
  /** An HTTP/1.1 upgrade on a TLS connection that chose http/1.1 (allowHTTP1). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** An Extended CONNECT stream. */
  stream: StreamListener;
  /** A request that is not a WebSocket handshake (HTTP/1.1 or HTTP/2): its answer. */
  request(req: IncomingMessage | Http2ServerRequest): HttpAnswer;
  /** A connection refused before the WebSocketServer saw it (for its statistics). */
  refused(why: RefusalReason): void;
}

/**
 * The server a WebSocketServer creates for `port` with `http2`: TLS options
 * (key and cert, pfx, or a secureContext) make it h2 over TLS with ALPN, and
 * HTTP/1.1 upgrades on the same port (allowHTTP1, default true); without them
 * it speaks cleartext HTTP/2 with prior knowledge (h2c, RFC 9113 3.3), for
 * tests and internal networks. Every request that is not a WebSocket gets the
 * same answer as on the HTTP/1.1 server (426).
 *
 * A connection has handshakeTimeout to open its first WebSocket (an upgrade,
 * or a stream on its session), as on the HTTP/1.1 server; connections that
 * have not yet done so count against maxPending, above which their requests
 * are answered 503 with Retry-After (and an HTTP/2 session is then closed).
 */
export class Http2Endpoint {
  readonly server: AnyHttp2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  /** HTTP/1.1 connections (allowHTTP1) that have not upgraded. */
  private readonly plain = new Set<Socket>();
  private readonly guard: HandshakeGuard | null;
  private readonly windowSize: number;

  constructor(options: Http2EndpointOptions, hooks: Http2EndpointHooks) {
    const { maxConcurrentStreams, sessionWindowSize, ...serverOptions } = options;
    this.windowSize = sessionWindowSize ?? DEFAULTS.http2SessionWindowSize;
    const tls = options.cert !== undefined || options.pfx !== undefined || options.secureContext !== undefined || options.SNICallback !== undefined;
    const settings = {
      ...options.settings,
      enableConnectProtocol: true,
      maxConcurrentStreams: maxConcurrentStreams ?? options.settings?.maxConcurrentStreams ?? DEFAULTS.http2MaxConcurrentStreams,
    };
    this.server = tls
      ? http2.createSecureServer({ allowHTTP1: true, ...serverOptions, settings })
      : http2.createServer({ ...serverOptions, settings });
    const server = this.server;
    this.guard = HandshakeGuard.attach(server as never, hooks.handshakeTimeout, 'connection');
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket & { alpnProtocol?: string | false }) => {
      if (socket.alpnProtocol === 'h2' || !tls) return; // its session is counted below
      this.plain.add(socket);
      socket.once('close', () => this.plain.delete(socket));
    });
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', onSessionError);
      // RFC 9113 6.9.2: the connection window starts at 65,535 bytes for all
      // streams together; one stream whose reader is paused would soon hold it
      // all. A larger session window lets the others flow meanwhile.
      if (this.windowSize > 65_535) session.setLocalWindowSize(this.windowSize);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const busy = this.isBusy(socket);
      this.plain.delete(socket);
      if (busy) {
        hooks.refused('max_pending_handshakes');
        return void answerBusy(socket);
      }
      hooks.upgrade(req, socket, head);
    });
    server.on('request', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      const reply = hooks.request(req);
      const h1 = !('stream' in req);
      (res as ServerResponse).writeHead(reply.status, h1 ? { ...reply.headers, Connection: 'close' } : reply.headers);
      if (req.method === 'HEAD') res.end();
      else res.end(reply.body);
    });
    attachHttp2(server, (stream, headers, req) => {
      const session = stream.session as OwnSession | undefined;
      if (session !== undefined && !session[kOpened] && this.isBusy(session)) {
        hooks.refused('max_pending_handshakes');
        new StreamHandshake(stream, headers).refuse(503, 'Too many handshakes in progress', { 'retry-after': String(BUSY_RETRY_AFTER_S) });
        session.close();
        return;
      }
      hooks.stream(stream, headers, req);
    });
    this.maxPending = hooks.maxPending;
  }

  private readonly maxPending: number;

  /** Connections that have not opened a WebSocket yet, beside this one, reach maxPending. */
  private isBusy(self: Socket | ServerHttp2Session): boolean {
    if (this.maxPending === 0) return false;
    let pending = 0;
    for (const socket of this.plain) if (socket !== self) pending++;
    for (const session of this.sessions) if (session !== self && !(session as OwnSession)[kOpened]) pending++;
    return pending >= this.maxPending;
  }

  /**
   * Shutdown, once every WebSocket has closed (1001): GOAWAY on each session
   * (RFC 9113 6.8; streams still open may finish), and HTTP/1.1 connections
   * that never upgraded are dropped.
   */
  goAway(): void {
    for (const session of this.sessions) if (!session.closed) session.close();
    for (const socket of this.plain) socket.destroy();
  }

  release(): void {
    this.guard?.release();
  }
}

/** Seconds a client refused for too many handshakes in progress is asked to wait. */
const BUSY_RETRY_AFTER_S = 1;

function answerBusy(socket: Duplex): void {
  const body = 'Too many handshakes in progress';
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: ${BUSY_RETRY_AFTER_S}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

function onSessionError(this: ServerHttp2Session): void {
  this.destroy();
}
