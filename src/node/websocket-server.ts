/**
 * `WebSocketServer`: accepts upgrade requests on a node:http(s) server (its
 * own, or one the user already has, sharing the port with ordinary HTTP) or
 * via handleUpgrade in noServer mode, and Extended CONNECT streams of an
 * HTTP/2 server (RFC 8441; see http2-upgrade.ts). ws-compatible options and events.
 *
 * The request is checked in one readable sequence of early returns (path,
 * RFC rules in src/handshake, origin allowlist, subprotocols, verifyClient),
 * the same for both transports; every refusal is an HTTP 4xx (503 while
 * shutting down, 500 for a bad handleProtocols choice or response header,
 * verifyClient's own status as given) with a plain-text reason, written
 * once, and the socket (or HTTP/2 stream) closed. Accepted sockets and
 * streams become WebSocket instances. A request injected in process (a
 * Duplex that is no net.Socket) may leave out Host.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { Socket } from 'node:net';
import {
  Http2ServerRequest as Http2ServerRequestClass,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import {
  buildAcceptHeaderLines,
  buildRejectResponse,
  isOriginAllowed,
  serializeHeaderLines,
  validateUpgradeRequest,
  type RejectHeaders,
} from '../handshake/index.js';
import { CloseCode, DEFAULTS, resolveSettings, type ConnectionSettings } from '../protocol/index.js';
import type { ExtensionOffer, HandshakeRejection } from '../handshake/index.js';
import { formatExtensions, pathnameOf, selectSubprotocol } from '../handshake/index.js';
import type { ServerExtension } from '../extensions/extension.js';
import { serverPerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate/index.js';
import { HandshakeGuard, clearHandshakeDeadline, handshakeTimerDelay } from './handshake-guard.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { ReadyState } from './ready-state.js';
import { BUSY_RETRY_AFTER, createUpgradeServer, type HttpAnswer, type UpgradeServer } from './upgrade-server.js';
import { WebSocket, openWebSocket } from './websocket.js';
import { Http2Endpoint, StreamHandshake, attachHttp2, isHttp2Server, type Http2Option } from './http2-upgrade.js';
import type { ConnectionLimits } from './connection-limits.js';
import { ServerMeter, renderMetrics, type RefusalReason, type ServerStats } from './server-stats.js';

export interface VerifyClientInfo<Request extends IncomingMessage = IncomingMessage> {
  origin: string;
  secure: boolean;
  req: Request;
}
export type VerifyClientCallback = (
  verified: boolean,
  code?: number,
  message?: string,
  headers?: OutgoingHttpHeaders,
) => void;
export type VerifyClient<Request extends IncomingMessage = IncomingMessage> =
  | ((info: VerifyClientInfo<Request>) => boolean)
  | ((info: VerifyClientInfo<Request>, callback: VerifyClientCallback) => void);

/**
 * `T` is the class of the connections (ws's types call it `U`): a server
 * given `WebSocket: MyWebSocket` hands out MyWebSocket instances, and its
 * types say so. `R` is the request class of the HTTP server.
 */
export interface ServerOptions<T extends typeof WebSocket = typeof WebSocket, R extends typeof IncomingMessage = typeof IncomingMessage>
  extends ConnectionLimits {
  host?: string;
  port?: number;
  backlog?: number;
  /**
   * Attach to an existing http/https server: normal requests keep working. An
   * http2 server (createSecureServer, createServer) gets its Extended CONNECT
   * streams taken (RFC 8441), and HTTP/1.1 upgrades too with allowHTTP1.
   */
  server?: HttpServer<R> | HttpsServer<R> | Http2Server | Http2SecureServer;
  /**
   * With `port`: serve over HTTP/2 as well (RFC 8441). true: cleartext h2 with
   * prior knowledge (h2c). TLS options (key and cert...): h2 over TLS with
   * ALPN, HTTP/1.1 upgrades on the same port (allowHTTP1, default true).
   * maxConcurrentStreams and sessionWindowSize as in README's HTTP/2 section.
   */
  http2?: Http2Option;
  /** Create no server: call handleUpgrade() from your own 'upgrade' listener. */
  noServer?: boolean;
  /** Only accept upgrades whose pathname equals this. */
  path?: string;
  verifyClient?: VerifyClient<InstanceType<R>>;
  /** Pick a subprotocol among those offered; false (or undefined) for none. */
  handleProtocols?: (protocols: Set<string>, request: InstanceType<R>) => string | false;
  /**
   * Accept permessage-deflate (RFC 7692) when a client offers it. Default
   * false, as in ws: compression costs CPU on every message above the
   * threshold. true uses the memory-lean defaults documented in README.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Track connected clients in server.clients (default true). */
  clientTracking?: boolean;
  /** Largest message accepted (default 100 MiB; 0 = no limit). */
  maxPayload?: number;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  /** Refuse (403) browsers whose Origin is not listed; '*' allows any. Non-browser clients send none and pass. */
  allowedOrigins?: string[];
  /** Ping idle clients and terminate those that do not answer in time. Off by default. */
  heartbeat?: HeartbeatOptions;
  /**
   * Slowloris guard, in ms (default 10 s; 0 disables it). On the server
   * created for `port`, a connection must upgrade within this time of
   * connecting. On your server given as `server`, each request head must
   * arrive within it (the first from the connection, later ones from their
   * first byte, up to twice as long); the time your handlers take to answer
   * ordinary requests is never counted. See src/node/handshake-guard.ts.
   * With noServer, your code owns the sockets and their timeouts.
   */
  handshakeTimeout?: number;
  /** Time allowed for the closing handshake before the socket is destroyed (default 30 s). */
  closeTimeout?: number;
  /** Open connections accepted at once (default 0: no limit); above it, upgrades get 503 with Retry-After. */
  maxConnections?: number;
  /**
   * Handshakes in progress at once (default 1024; 0: no limit): on our own
   * port, connections not yet upgraded; on any server, upgrades waiting for
   * an asynchronous verifyClient. Above it: 503 with Retry-After.
   */
  maxPendingHandshakes?: number;
  /** Split outgoing messages into frames of at most this many bytes (default 0: never). */
  fragmentSize?: number;
  /**
   * On the server created for `port`: answer GET /metrics (Prometheus text),
   * /healthz and /readyz (default false). Any server has stats(), metrics()
   * and isReady() to mount them yourself.
   */
  operations?: boolean;
  /** The class instantiated for each connection (a subclass of WebSocket). */
  WebSocket?: T;
  /** Accepted for ws compatibility; events are always delivered as they are parsed (ws's default, true). */
  allowSynchronousEvents?: boolean;
  /** Accepted for ws compatibility and ignored: a message's memory grows with its bytes, not its chunks or fragments. */
  maxBufferedChunks?: number;
  maxFragments?: number;
  /** Accepted for ws compatibility and ignored: pongs owed while the output is congested are held as one (the latest). */
  maxPendingAutoPongs?: number;
}


/** The events, typed as ws's types have them (the server's connections are `InstanceType<T>`). */
export interface WebSocketServer<T extends typeof WebSocket = typeof WebSocket, R extends typeof IncomingMessage = typeof IncomingMessage> {
  on(event: 'connection', listener: (this: this, socket: InstanceType<T>, request: InstanceType<R>) => void): this;
  on(event: 'error', listener: (this: this, error: Error) => void): this;
  on(event: 'headers', listener: (this: this, headers: string[], request: InstanceType<R>) => void): this;
  on(event: 'close' | 'listening', listener: (this: this) => void): this;
  on(event: 'wsClientError', listener: (this: this, error: Error, socket: Duplex, request: InstanceType<R>) => void): this;
  on(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  once(event: 'connection', listener: (this: this, socket: InstanceType<T>, request: InstanceType<R>) => void): this;
  once(event: 'error', listener: (this: this, error: Error) => void): this;
  once(event: 'headers', listener: (this: this, headers: string[], request: InstanceType<R>) => void): this;
  once(event: 'close' | 'listening', listener: (this: this) => void): this;
  once(event: 'wsClientError', listener: (this: this, error: Error, socket: Duplex, request: InstanceType<R>) => void): this;
  once(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  off(event: 'connection', listener: (this: this, socket: InstanceType<T>, request: InstanceType<R>) => void): this;
  off(event: 'error', listener: (this: this, error: Error) => void): this;
  off(event: 'headers', listener: (this: this, headers: string[], request: InstanceType<R>) => void): this;
  off(event: 'close' | 'listening', listener: (this: this) => void): this;
  off(event: 'wsClientError', listener: (this: this, error: Error, socket: Duplex, request: InstanceType<R>) => void): this;
  off(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  addListener(event: 'connection', listener: (socket: InstanceType<T>, request: InstanceType<R>) => void): this;
  addListener(event: 'error', listener: (error: Error) => void): this;
  addListener(event: 'headers', listener: (headers: string[], request: InstanceType<R>) => void): this;
  addListener(event: 'close' | 'listening', listener: () => void): this;
  addListener(event: 'wsClientError', listener: (error: Error, socket: Duplex, request: InstanceType<R>) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;
  removeListener(event: 'connection', listener: (socket: InstanceType<T>, request: InstanceType<R>) => void): this;
  removeListener(event: 'error', listener: (error: Error) => void): this;
  removeListener(event: 'headers', listener: (headers: string[], request: InstanceType<R>) => void): this;
  removeListener(event: 'close' | 'listening', listener: () => void): this;
  removeListener(event: 'wsClientError', listener: (error: Error, socket: Duplex, request: InstanceType<R>) => void): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class WebSocketServer<T extends typeof WebSocket = typeof WebSocket, R extends typeof IncomingMessage = typeof IncomingMessage> extends EventEmitter {
  readonly options: ServerOptions<T, R> & { maxPayload: number; clientTracking: boolean };
  /** Connected clients; undefined with `clientTracking: false`, as in ws. */
  declare readonly clients: Set<InstanceType<T>>;
  /** The HTTP server whose upgrades we take (ours or the user's); null in noServer mode and once closed. */
  private server: HttpServer | HttpsServer | UpgradeServer | Http2Server | Http2SecureServer | null = null;
  /** Our own HTTP/2 server (`port` with `http2`). */
  private http2: Http2Endpoint | null = null;
  private detachHttp2: (() => void) | null = null;
  /** Every accepted connection shares these resolved settings. */
  private readonly settings: ConnectionSettings;
  /** 'close' listener of every tracked connection: one function per server, not a closure per connection. */
  private readonly untrack: (this: WebSocket) => void;
  private ownsServer = false;
  private state: 'running' | 'closing' | 'closed' = 'running';
  private removeServerListeners: (() => void) | null = null;
  private readonly heartbeat: Heartbeat | null;
  private readonly deflate: ServerExtension | null;
  private guard: HandshakeGuard | null = null;
  /** Connections accepted and not closed yet (maxConnections counts them). */
  private openCount = 0;
  /** Upgrades waiting for an asynchronous verifyClient (maxPendingHandshakes counts them). */
  private verifying = 0;
  private readonly maxConnections: number;
  private readonly maxPendingHandshakes: number;
  private readonly meter = new ServerMeter();

  constructor(options: ServerOptions<T, R> = {}, callback?: () => void) {
    super();
    const modes = [options.port !== undefined, options.server !== undefined, options.noServer === true].filter(Boolean).length;
    if (modes !== 1) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (options.heartbeat && options.clientTracking === false) throw new TypeError('heartbeat needs clientTracking');
    this.options = { ...options, maxPayload: options.maxPayload ?? DEFAULTS.maxPayload, clientTracking: options.clientTracking ?? true };
    this.maxConnections = nonNegative('maxConnections', options.maxConnections ?? DEFAULTS.maxConnections);
    this.maxPendingHandshakes = nonNegative('maxPendingHandshakes', options.maxPendingHandshakes ?? DEFAULTS.maxPendingHandshakes);
    const clients = new Set<WebSocket>();
    if (this.options.clientTracking) (this as { clients: Set<WebSocket> }).clients = clients;
    const server = this;
    this.untrack = function (this: WebSocket) {
      server.openCount--;
      clients.delete(this as InstanceType<T>);
    };
    this.settings = resolveSettings({
      role: 'server',
      maxPayload: options.maxPayload,
      skipUTF8Validation: options.skipUTF8Validation,
      autoPong: options.autoPong,
      closeTimeout: options.closeTimeout,
      fragmentSize: options.fragmentSize,
      maxBackpressure: options.maxBackpressure,
      backpressurePolicy: options.backpressurePolicy,
      idleTimeout: options.idleTimeout,
      counters: this.meter.counters,
    });

    const emitConnection = (ws: InstanceType<T>, req: InstanceType<R>) => this.emit('connection', ws, req);
    // Every deadline below takes this one value (0: off; Infinity would make a timer fire at once).
    const handshakeTimeout = handshakeTimerDelay(options.handshakeTimeout ?? DEFAULTS.handshakeTimeout);
    // Streams of an http2 server we are attached to (ours or yours) get handshakeTimeout to be answered.
    const takeStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, req: Http2ServerRequest) =>
      this.admit(new StreamHandshake(stream, headers, handshakeTimeout), req as unknown as InstanceType<R>, emitConnection);
    const answerRequest = options.operations === true ? (req: IncomingMessage) => this.answerOperations(req) ?? answerPlainRequest(req) : answerPlainRequest;
    if (options.http2 && options.port === undefined) throw new TypeError('The "http2" option needs "port" (pass your http2 server as "server")');
    if (options.port !== undefined && options.http2) {
      const endpoint = new Http2Endpoint(options.http2 === true ? {} : options.http2, {
        handshakeTimeout,
        maxPending: this.maxPendingHandshakes,
        upgrade: (req, socket, head) => this.handleUpgrade(req as InstanceType<R>, socket, head, emitConnection),
        stream: takeStream,
        request: (req) => answerRequest(req as IncomingMessage),
        refused: (why) => this.meter.refused(why),
      });
      this.http2 = endpoint;
      this.ownsServer = true;
      endpoint.server.listen(options.port, options.host, options.backlog, callback);
      this.server = endpoint.server;
    } else if (options.port !== undefined) {
      // Our own port: heads are read by the upgrade server, not node:http (see upgrade-server.ts).
      const server = createUpgradeServer({
        handshakeTimeout,
        maxPending: this.maxPendingHandshakes,
        maxHeadBytes: DEFAULTS.maxHeaderSize,
        maxFields: DEFAULTS.maxHeaderFields,
        upgrade: (req, socket, head) => this.handleUpgrade(req as InstanceType<R>, socket, head, emitConnection),
        request: answerRequest,
        refused: (why) => this.meter.refused(why),
      });
      this.ownsServer = true;
      server.listen(options.port, options.host, options.backlog, callback);
      this.server = server;
    } else if (options.server) {
      this.server = options.server;
      // The guard times HTTP/1.1 request heads; an http2 server's sessions are
      // its owner's to time (see README, HTTP/2).
      if (isHttp2Server(options.server)) this.detachHttp2 = attachHttp2(options.server, takeStream);
      else this.guard = HandshakeGuard.attach(options.server, handshakeTimeout, 'request-head');
    }
    if (this.server) {
      const server = this.server;
      const onListening = () => this.emit('listening');
      const onError = (error: Error) => this.emit('error', error);
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req as InstanceType<R>, socket, head, emitConnection);
      server.on('listening', onListening);
      server.on('error', onError);
      // Our HTTP/2 server routes its HTTP/1.1 upgrades itself.
      if (this.http2 === null) server.on('upgrade', onUpgrade);
      this.removeServerListeners = () => {
        server.removeListener('listening', onListening);
        server.removeListener('error', onError);
        server.removeListener('upgrade', onUpgrade);
        this.detachHttp2?.();
        this.detachHttp2 = null;
      };
    }
    const pmd = options.perMessageDeflate;
    this.deflate = pmd === undefined || pmd === false ? null : serverPerMessageDeflate(pmd === true ? {} : pmd);
    this.heartbeat = options.heartbeat ? new Heartbeat(options.heartbeat, () => this.clients) : null;
  }

  /** The bound address of the server we listen on (as net.Server#address()). */
  address(): ReturnType<HttpServer['address']> {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    return this.server ? this.server.address() : null;
  }

  /**
   * Stop accepting connections and close every client with 1001 (Going
   * Away). Our own HTTP server is closed; a user's server is left running.
   */
  close(callback?: (error?: Error) => void): void {
    this.shutdown({ code: CloseCode.GoingAway, reason: 'Server shutting down' }, callback);
  }

  /**
   * close() with another close code for the clients: 1012 (Service Restart,
   * the default here) tells them to reconnect, elsewhere or after this node
   * restarted. Stops accepting at once; the callback runs once every client
   * has closed (or its closeTimeout passed) and our HTTP server is down.
   */
  shutdown(options: { code?: number; reason?: string } = {}, callback?: (error?: Error) => void): void {
    const code = options.code ?? CloseCode.ServiceRestart;
    const reason = options.reason ?? (code === CloseCode.ServiceRestart ? 'Service restart' : '');
    if (callback) this.once('close', () => callback());
    if (this.state === 'closed') {
      process.nextTick(() => this.emit('close'));
      return;
    }
    if (this.state === 'closing') return;
    this.state = 'closing';
    this.heartbeat?.stop();
    for (const ws of this.clients ?? []) ws.close(code, reason);
    this.removeServerListeners?.();
    this.removeServerListeners = null;
    this.guard?.release();
    const finish = () => {
      this.state = 'closed';
      this.emit('close');
    };
    const server = this.server;
    this.server = null;
    if (server && this.ownsServer) {
      // Resolve once every WebSocket has closed and the listener is down.
      const pending = [...(this.clients ?? [])].filter((ws) => ws.readyState !== ReadyState.CLOSED);
      let waiting = pending.length + 1;
      const done = () => {
        if (--waiting === 0) finish();
      };
      for (const ws of pending) ws.once('close', done);
      const endpoint = this.http2;
      this.http2 = null;
      if (endpoint !== null) {
        // Every WebSocket's Close first, then GOAWAY on the sessions: an
        // HTTP/2 server's listener closes once its sessions have.
        endpoint.release();
        let open = pending.length;
        const closedOne = () => {
          if (--open === 0) endpoint.goAway();
        };
        for (const ws of pending) ws.once('close', closedOne);
        if (open === 0) endpoint.goAway();
        server.close(() => done());
      } else {
        server.close(() => done());
        (server as UpgradeServer).dropPending();
      }
    } else {
      process.nextTick(finish);
    }
  }

  /** The server's numbers: connections, handshakes, messages, bytes, compression, close codes, backpressure. */
  stats(): ServerStats {
    return this.meter.snapshot(this.openCount);
  }

  /** stats() in the Prometheus text format (serve it as text/plain; version=0.0.4). */
  metrics(): string {
    return renderMetrics(this.stats());
  }

  /** Ready for traffic: running, and listening when it has a server of its own. */
  isReady(): boolean {
    if (this.state !== 'running') return false;
    return !this.ownsServer || (this.server?.listening ?? false);
  }

  /** GET /metrics, /healthz and /readyz on our own port (operations: true); null for anything else. */
  private answerOperations(req: IncomingMessage): HttpAnswer | null {
    if (req.method !== 'GET' && req.method !== 'HEAD') return null;
    return operationsAnswer(pathnameOf(req.url ?? '/'), this);
  }

  /** Is this request for us? (path option; override for custom routing, as in ws) */
  shouldHandle(req: IncomingMessage): boolean {
    if (this.options.path === undefined) return true;
    return pathnameOf(req.url ?? '/') === this.options.path;
  }

  /**
   * Complete (or refuse) an upgrade request. On success `callback(ws, req)`
   * runs with the new WebSocket; on refusal the socket gets an HTTP error.
   */
  handleUpgrade(req: InstanceType<R>, socket: Duplex, head: Buffer, callback: (ws: InstanceType<T>, req: InstanceType<R>) => void): void {
    this.admit(new UpgradeHandshake(socket, head, req), req, callback);
  }

  /**
   * Complete (or refuse) an Extended CONNECT stream of an http2 server (RFC
   * 8441): the noServer counterpart of handleUpgrade for HTTP/2, to call from
   * your server's 'stream' listener for streams that isExtendedConnect(headers)
   * says are one. `req` (made from the stream when not given) is an
   * http2.Http2ServerRequest: method 'CONNECT', url the :path, the headers.
   */
  handleStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    callback: (ws: InstanceType<T>, req: InstanceType<R>) => void,
    req?: Http2ServerRequest,
  ): void {
    const request = req ?? new Http2ServerRequestClass(stream, headers, undefined as never, []);
    this.admit(new StreamHandshake(stream, headers), request as unknown as InstanceType<R>, callback);
  }

  /** The checks of an opening handshake, in order, the same over HTTP/1.1 and HTTP/2. */
  private admit(handshake: Handshake, req: InstanceType<R>, callback: (ws: InstanceType<T>, req: InstanceType<R>) => void): void {
    if (this.state !== 'running') return this.abort(handshake, 'shutting_down', 503, 'The server is shutting down');
    if (this.maxConnections > 0 && this.openCount >= this.maxConnections) {
      return this.abort(handshake, 'max_connections', 503, `Too many connections (maxConnections is ${this.maxConnections})`, { 'Retry-After': String(FULL_RETRY_AFTER) });
    }
    if (!this.shouldHandle(req)) return this.abort(handshake, 'path', 400, `No WebSocket endpoint at ${JSON.stringify(req.url)}`);
    const checked = handshake.validate();
    if (!checked.ok) return this.refuse(handshake, req, 'invalid_request', checked.status, checked.reason, checked.headers);
    if (this.options.allowedOrigins && !isOriginAllowed(checked.origin, this.options.allowedOrigins)) {
      return this.abort(handshake, 'origin', 403, `Origin not allowed: ${checked.origin}`);
    }
    const proceed = () => this.completeUpgrade(handshake, checked.protocols, checked.extensions, req, callback);
    const verify = this.options.verifyClient;
    if (!verify) return proceed();
    const info: VerifyClientInfo = { origin: checked.origin ?? '', secure: handshake.secure, req };
    if (verify.length === 2) {
      if (this.maxPendingHandshakes > 0 && this.verifying >= this.maxPendingHandshakes) {
        return this.abort(handshake, 'max_pending_handshakes', 503, 'Too many handshakes in progress', { 'Retry-After': String(BUSY_RETRY_AFTER) });
      }
      this.verifying++;
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (): boolean => {
        if (answered) return false;
        answered = true;
        this.verifying--;
        clearTimeout(timer);
        return true;
      };
      if (handshake.deadline > 0) {
        // An HTTP/2 stream: the session is not ours to time (it may be your
        // server's, carrying other requests), so the deadline is the
        // stream's. Unanswered in time, it is refused with 503 (RFC 9110
        // 15.6.4: the server cannot handle it now) on that stream only, and
        // verifyClient's late answer is ignored.
        timer = setTimeout(() => {
          if (!settle()) return;
          if (!handshake.usable) return handshake.drop();
          this.abort(handshake, 'handshake_timeout', 503, 'Opening handshake timed out');
        }, handshake.deadline).unref();
      }
      (verify as (i: VerifyClientInfo, cb: VerifyClientCallback) => void)(info, (verified, code, message, headers) => {
        if (!settle()) return;
        if (verified) return proceed();
        // As ws: the status and message reach the client as given (0 or none: 401).
        const status = code || 401;
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          return this.abort(handshake, 'verify_client', 500, `verifyClient refused with an invalid HTTP status: ${String(code)}`);
        }
        this.abort(handshake, 'verify_client', status, message || (STATUS_CODES[status] ?? 'Refused'), headers);
      });
      return;
    }
    if (!(verify as (i: VerifyClientInfo) => boolean)(info)) return this.abort(handshake, 'verify_client', 401, 'Unauthorized: verifyClient refused the connection');
    proceed();
  }

  private completeUpgrade(
    handshake: Handshake,
    protocols: string[],
    offers: ExtensionOffer[],
    req: InstanceType<R>,
    callback: (ws: InstanceType<T>, req: InstanceType<R>) => void,
  ): void {
    if (!handshake.usable) return handshake.drop();
    if (this.state !== 'running') return this.abort(handshake, 'shutting_down', 503, 'The server is shutting down');
    let protocol: string | undefined;
    if (protocols.length > 0) {
      // ws's default without handleProtocols: the client's first preference.
      const handle = this.options.handleProtocols;
      try {
        protocol = selectSubprotocol(protocols, handle ? handle(new Set(protocols), req) : protocols[0]);
      } catch {
        return this.abort(handshake, 'subprotocol', 500, 'handleProtocols chose a subprotocol the client did not offer');
      }
    }
    // Extensions: offers we cannot accept are declined (left out of the response), never refused.
    const accepted = this.deflate?.accept(offers) ?? null;
    const extensions = accepted !== null ? formatExtensions([accepted.response]) : undefined;
    const lines = handshake.acceptLines(protocol, extensions);
    this.emit('headers', lines, req);
    let stream: Duplex;
    try {
      stream = handshake.accept(lines);
    } catch (error) {
      return this.abort(handshake, 'response_header', 500, `Invalid response header: ${(error as Error).message}`);
    }
    const Ctor = this.options.WebSocket ?? WebSocket;
    const ws = new Ctor(null) as InstanceType<T>;
    openWebSocket(ws, {
      stream,
      head: handshake.head,
      settings: this.settings,
      protocol: protocol ?? '',
      extension: accepted !== null ? accepted.createTransform() : null,
    });
    this.openCount++;
    this.meter.acceptedOne();
    if (this.options.clientTracking) this.clients.add(ws);
    ws.on('close', this.untrack);
    this.heartbeat?.track(ws);
    callback(ws, req);
  }

  /**
   * Refuse a malformed request (RFC 6455 4.2.1): over HTTP/1.1 a
   * 'wsClientError' listener answers it if there is one, as in ws; otherwise
   * as abort(). An HTTP/2 stream is always answered here (such listeners
   * write HTTP/1.1 text to a socket).
   */
  private refuse(handshake: Handshake, req: IncomingMessage, why: RefusalReason, status: number, reason: string, headers?: Record<string, string>): void {
    if (!(handshake instanceof UpgradeHandshake) || this.listenerCount('wsClientError') === 0) {
      return this.abort(handshake, why, status, reason, headers);
    }
    this.meter.refused(why);
    clearHandshakeDeadline(handshake.stream);
    const error = Object.assign(new Error(reason), { statusCode: status });
    this.emit('wsClientError', error, handshake.stream, req);
  }

  /**
   * Refuse a well-formed request by policy (path, origin, verifyClient,
   * shutdown) or because of a server-side error: the HTTP error is written
   * once and the socket (or stream) closed. As in ws, 'wsClientError' is not
   * involved, so verifyClient's status reaches the client as given.
   */
  private abort(handshake: Handshake, why: RefusalReason, status: number, reason: string, headers?: RejectHeaders): void {
    this.meter.refused(why);
    handshake.refuse(status, reason, headers);
  }
}

/** One opening handshake in progress, over HTTP/1.1 (UpgradeHandshake) or HTTP/2 (StreamHandshake). */
interface Handshake {
  /** Bytes read past the request (HTTP/1.1), the start of the WebSocket's input. */
  readonly head: Buffer;
  /** Over TLS (verifyClient's info.secure). */
  readonly secure: boolean;
  /** The peer is still there, after an asynchronous verifyClient say. */
  readonly usable: boolean;
  /** Ms an asynchronous verifyClient has to answer before the handshake is refused (0: none; an HTTP/1.1 socket has the connection's guard instead). */
  readonly deadline: number;
  validate(): HandshakeChecked | HandshakeRejection;
  /** The acceptance's header lines, shown to 'headers' listeners (they may add lines). */
  acceptLines(protocol: string | undefined, extensions: string | undefined): string[];
  /** Send the acceptance; returns the WebSocket's byte stream. Throws TypeError for an invalid line. */
  accept(lines: string[]): Duplex;
  refuse(status: number, reason: string, headers?: RejectHeaders): void;
  /** Give up without an answer (the peer is gone). */
  drop(): void;
}

type HandshakeChecked = { ok: true; protocols: string[]; extensions: ExtensionOffer[]; origin: string | undefined };

/** The HTTP/1.1 upgrade (RFC 6455 4.2): the request's socket, answered 101. */
class UpgradeHandshake implements Handshake {
  readonly deadline = 0;
  private key = '';

  constructor(
    readonly stream: Duplex,
    readonly head: Buffer,
    private readonly req: IncomingMessage,
  ) {
    stream.on('error', onHandshakeSocketError);
  }

  get secure(): boolean {
    // An in-process request (fastify's injectWS) may come without a socket.
    const transport = this.req.socket as (Socket & { encrypted?: boolean; authorized?: boolean }) | undefined;
    return !!(transport?.authorized || transport?.encrypted);
  }

  get usable(): boolean {
    return this.stream.readable && this.stream.writable;
  }

  validate(): HandshakeChecked | HandshakeRejection {
    // Host is required on the network; a request injected in process (a Duplex, no TCP peer) has no host to name.
    const checked = validateUpgradeRequest(this.req, { requireHost: this.stream instanceof Socket });
    if (checked.ok) this.key = checked.key;
    return checked;
  }

  acceptLines(protocol: string | undefined, extensions: string | undefined): string[] {
    return buildAcceptHeaderLines({
      key: this.key,
      ...(protocol !== undefined ? { protocol } : {}),
      ...(extensions !== undefined ? { extensions } : {}),
    });
  }

  accept(lines: string[]): Duplex {
    const response = serializeHeaderLines(lines);
    clearHandshakeDeadline(this.stream);
    this.stream.write(response);
    this.stream.removeListener('error', onHandshakeSocketError);
    return this.stream;
  }

  refuse(status: number, reason: string, headers?: RejectHeaders): void {
    clearHandshakeDeadline(this.stream);
    abortHandshake(this.stream, status, reason, headers);
  }

  drop(): void {
    this.stream.destroy();
  }
}

/**
 * The answer to a request on our own port that is not an upgrade. Node's
 * parser only treats a request with both Upgrade and Connection: upgrade as
 * one; a request that tries to be a handshake but lacks one of them is
 * refused as a bad handshake (400 and the reason), anything else gets 426.
 */
/** The answers of the operations endpoints, for any server that has stats: null for other paths. */
export function operationsAnswer(path: string, server: { metrics(): string; isReady(): boolean }): HttpAnswer | null {
  const text = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
  if (path === '/metrics') return { status: 200, headers: { ...text, 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }, body: server.metrics() };
  if (path === '/healthz') return { status: 200, headers: text, body: 'ok\n' };
  if (path === '/readyz') return server.isReady() ? { status: 200, headers: text, body: 'ready\n' } : { status: 503, headers: text, body: 'not ready\n' };
  return null;
}

function answerPlainRequest(req: IncomingMessage): HttpAnswer {
  const h = req.headers;
  const attempt = h['upgrade'] !== undefined || h['sec-websocket-key'] !== undefined || h['sec-websocket-version'] !== undefined;
  const checked = attempt ? validateUpgradeRequest(req) : null;
  const text = { 'Content-Type': 'text/plain; charset=utf-8' };
  if (checked !== null && !checked.ok) return { status: checked.status, headers: { ...text, ...checked.headers }, body: checked.reason };
  return { status: 426, headers: text, body: STATUS_CODES[426]! };
}

/** Seconds a client refused for maxConnections is asked to wait (connections free up slowly). */
const FULL_RETRY_AFTER = 5;

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new RangeError(`${name} must be a number >= 0 (0: no limit)`);
  return value;
}

export function abortHandshake(socket: Duplex, status: number, reason: string, headers?: RejectHeaders): void {
  if (socket.writable && !socket.writableEnded) {
    socket.end(buildRejectResponse(status, reason, headers));
  }
  socket.once('finish', () => socket.destroy());
  // A peer that never reads must not keep the socket alive.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function onHandshakeSocketError(this: Duplex): void {
  this.destroy();
}
