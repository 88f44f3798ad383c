/**
 * The client's opening handshake over node:http/node:https (RFC 6455 4.1):
 * build the upgrade request, validate the 101 response with src/handshake,
 * then attach the socket to the WebSocket. TLS options (ca, cert, key,
 * rejectUnauthorized, servername...) pass straight to node:tls. With a
 * `proxy`, the socket is a tunnel opened by src/node/proxy (TLS to the target
 * runs inside it, with the same options and checks).
 */
import { request as httpRequest, type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions, type SecureContextOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { buildClientRequestHeaders, formatExtensions, generateKey, unixSocketTarget, validateUpgradeResponse, webSocketUrl } from '../handshake/index.js';
import { acceptedTransform } from '../extensions/extension.js';
import { clientPerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate/index.js';
import type { EventEmitter } from 'node:events';
import { DEFAULTS, resolveSettings, type MessageTransform } from '../protocol/index.js';
import { ReadyState } from './ready-state.js';
import type { Upgraded, WebSocket } from './websocket.js';
import type { ConnectionLimits } from './connection-limits.js';
import { openTunnel, parseProxyUrl, proxyFromEnvironment, type PendingTunnel, type ProxyEndpoint } from './proxy/index.js';

/**
 * The client's options: ws's names and meanings. As in ws, every option also
 * reaches http.request (agent, family, lookup, localAddress, TLS options...)
 * and a custom createConnection, except those the URL decides (host, port,
 * path, protocol).
 */
export interface ClientOptions extends ConnectionLimits, Omit<ClientRequestArgs, 'headers' | 'timeout' | 'protocol' | 'host' | 'hostname' | 'port' | 'path' | 'createConnection'>,
  SecureContextOptions,
  Pick<TlsConnectionOptions, 'rejectUnauthorized' | 'servername' | 'checkServerIdentity' | 'ALPNProtocols'> {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Value of the Origin header (Sec-WebSocket-Origin with protocolVersion 8). */
  origin?: string;
  /** Time allowed for the opening handshake, in ms, per request when redirects are followed (default: none, as ws). */
  handshakeTimeout?: number;
  /** Largest message accepted (default 100 MiB; 0 = no limit). */
  maxPayload?: number;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  /** Time allowed for the closing handshake before the socket is destroyed (default 30 s). */
  closeTimeout?: number;
  /** Split outgoing messages into frames of at most this many bytes (default 0: never). */
  fragmentSize?: number;
  /**
   * Offer permessage-deflate (RFC 7692). Default true, as in ws and browsers:
   * the server decides whether to use it. false offers nothing.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Sec-WebSocket-Version: 13 (default) or 8 (the hybi-08 draft, framed as 13), as in ws. */
  protocolVersion?: number;
  /**
   * Custom socket factory (a proxy tunnel, an in-memory stream); defaults to
   * net/tls connect. Called as node:http calls it, with the request options
   * (host, port, defaultPort, headers, servername for wss:, your other options).
   */
  createConnection?: (options: any, oncreate?: any) => Duplex;
  /**
   * WebSocket over HTTP/2 (RFC 8441, see http2-client.ts): true insists (h2c
   * with prior knowledge over ws:), 'auto' uses it over wss: when ALPN and the
   * server's SETTINGS allow, else the HTTP/1.1 upgrade. Default false.
   */
  http2?: boolean | 'auto';
  /** With http2: WebSockets one pooled session carries at most (default 128; never more than the server allows). */
  http2MaxStreams?: number;
  /** Follow 3xx responses with a Location during the opening handshake (default false, as ws). */
  followRedirects?: boolean;
  /** With followRedirects: most redirects followed before failing (default 10). */
  maxRedirects?: number;
  /** Fills the 4-byte masking key of each frame sent (default: crypto-random keys), as in ws. */
  generateMask?(mask: Buffer): void;
  /**
   * Called with each handshake request (each hop of a redirect chain) instead
   * of `request.end()`: set headers, write, then end it yourself. (A method
   * signature, so a callback typed with the package's WebSocket subclass fits.)
   */
  finishRequest?(request: ClientRequest, websocket: WebSocket): void;
  /** Subprotocols, when the constructor's second argument gives none (as ws). */
  protocols?: string | string[];
  /** ws's URL decides the host and scheme: accepted, and ignored, as in ws. */
  host?: string;
  protocol?: string;
  /** Accepted for ws compatibility; events are always delivered as they are parsed (ws's default, true). */
  allowSynchronousEvents?: boolean;
  /** Accepted for ws compatibility and ignored: a message's memory grows with its bytes, not its chunks or fragments. */
  maxBufferedChunks?: number;
  maxFragments?: number;
  /** Accepted for ws compatibility and ignored: pongs owed while the output is congested are held as one (the latest). */
  maxPendingAutoPongs?: number;
  /**
   * Connect through a proxy: `'http://[user:pass@]host:port'`, `'https://...'`
   * (TLS to the proxy), `'socks5://[user:pass@]host:port'` (the proxy resolves
   * names); `'env'` reads https_proxy/http_proxy/all_proxy/no_proxy; or an
   * object with the URL and TLS options for an https:// proxy. Default: none.
   */
  proxy?: string | URL | ProxyOptions;
}

export interface ProxyOptions {
  url: string | URL;
  /** TLS options for the connection to an https:// proxy (ca, rejectUnauthorized, servername...). */
  tls?: TlsConnectionOptions;
}

export const DEFAULT_MAX_REDIRECTS = DEFAULTS.maxRedirects;

/** Where a chain of redirects started (credentials do not follow a redirect elsewhere). */
interface RedirectState {
  count: number;
  readonly originalHost: string;
  readonly originalSecure: boolean;
}

/** How the handshake reports to the WebSocket it opens. */
export interface HandshakeOutcome {
  opened(upgraded: Upgraded): void;
  failed(error: Error): void;
}

/**
 * One client's opening handshake, from the first request to the upgrade
 * (following redirects when asked). Events that ws emits during it
 * ('upgrade', 'redirect', 'unexpected-response') go to `events`, the
 * WebSocket; the outcome goes to `outcome`.
 */
export class ClientHandshake {
  /** CONNECTING while it runs; CLOSING, then CLOSED once it failed or was abandoned. */
  readyState: ReadyState = ReadyState.CONNECTING;
  /** The URL requested last (a redirect changes it). */
  url = '';
  /** The request in flight (null between requests and once done). */
  private req: ClientRequest | null = null;
  /** The proxy tunnel being opened for the request in flight, if any. */
  private tunnel: PendingTunnel | null = null;

  constructor(
    private readonly events: EventEmitter,
    address: string | URL,
    private readonly protocols: string[],
    options: ClientOptions,
    private readonly outcome: HandshakeOutcome,
  ) {
    const url = webSocketUrl(address instanceof URL ? address.href : address);
    if (options.protocolVersion !== undefined && options.protocolVersion !== 13 && options.protocolVersion !== 8) {
      throw new RangeError(`Unsupported protocol version: ${options.protocolVersion} (supported versions: 8, 13)`);
    }
    this.start(url, options, { count: 0, originalHost: url.host, originalSecure: url.protocol === 'wss:' });
  }

  /** Abandon the handshake: the request and its socket are destroyed; nothing more is reported. */
  abort(): void {
    this.readyState = ReadyState.CLOSING;
    this.tunnel?.abort();
    this.tunnel = null;
    const req = this.req;
    if (req === null) return;
    this.req = null;
    req.destroy();
    if (req.socket && !req.socket.destroyed) req.socket.destroy();
  }

  /**
   * node:http's createConnection for a proxied request: open the tunnel, then
   * hand node:http the socket (for wss:, a TLS socket inside the tunnel with
   * the request's TLS options: servername, ca, certificate checks).
   */
  private tunnelConnect(proxy: ProxyEndpoint, secure: boolean, option: ClientOptions['proxy'], timeout: number | undefined) {
    const proxyTls = typeof option === 'object' && !(option instanceof URL) ? option.tls : undefined;
    return (options: any, oncreate: (error: Error | null, socket?: Duplex) => void): undefined => {
      this.tunnel = openTunnel({ proxy, host: options.host, port: Number(options.port), proxyTls, timeout }, (error, socket) => {
        this.tunnel = null;
        if (error !== null || socket === undefined) return oncreate(error);
        if (!secure) {
          oncreate(null, socket);
        } else {
          oncreate(null, tlsConnect({ ...options, path: undefined, host: options.host, socket }));
        }
        // Paused until node:http has attached its listeners (it does so on the next tick).
        process.nextTick(() => socket!.resume());
      });
      return undefined;
    };
  }

  private fail(error: Error): void {
    this.outcome.failed(error);
  }

  private start(url: URL, options: ClientOptions, state: RedirectState): void {
    this.url = url.href;
    const events = this.events;
    const protocols = this.protocols;
    const secure = url.protocol === 'wss:';
    const key = generateKey();
    const deflate = options.perMessageDeflate === false ? null : clientPerMessageDeflate(options.perMessageDeflate === true ? {} : (options.perMessageDeflate ?? {}));
    const version = options.protocolVersion === 8 ? 8 : 13;
    const headers = buildClientRequestHeaders({
      key,
      protocols,
      version,
      ...(deflate !== null ? { extensions: formatExtensions(deflate.offers()) } : {}),
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
    });
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const {
      handshakeTimeout, maxPayload, skipUTF8Validation, autoPong, closeTimeout, fragmentSize, generateMask, finishRequest, followRedirects, maxRedirects,
      maxBackpressure, backpressurePolicy, idleTimeout, proxy: proxyOption,
    } = options;
    const proxy = proxyFor(url, proxyOption);
    if (proxy !== null && (options.createConnection !== undefined || options.agent !== undefined || url.protocol === 'ws+unix:')) {
      const other = url.protocol === 'ws+unix:' ? 'a ws+unix: URL' : options.createConnection !== undefined ? 'createConnection' : 'agent';
      throw new TypeError(`The proxy option cannot be combined with ${other}`);
    }
    const settings = resolveSettings({
      role: 'client', maxPayload, skipUTF8Validation, autoPong, closeTimeout, fragmentSize, maskKeySource: maskKeysFrom(generateMask),
      maxBackpressure, backpressurePolicy, idleTimeout,
    });
    const defaultPort = secure ? 443 : 80;
    // As ws: every option goes to http.request and so to createConnection; the URL decides where.
    const requestOptions: ClientRequestArgs & TlsConnectionOptions & Record<string, unknown> = {
      ...options,
      socketPath: undefined,
      hostname: undefined,
      protocol: undefined,
      protocols: undefined,
      method: 'GET',
      host: hostname,
      // The URL's port as text, or the scheme's default (a number), as ws passes them (node:http takes both).
      port: (url.port || defaultPort) as number,
      // Also keeps ":80"/":443" out of the Host header, which node:http adds when it knows no default.
      defaultPort: options.defaultPort || defaultPort,
      path: `${url.pathname}${url.search}`,
      headers,
      timeout: handshakeTimeout,
      createConnection: proxy !== null
        ? (this.tunnelConnect(proxy, secure, proxyOption, handshakeTimeout) as ClientRequestArgs['createConnection'])
        : (options.createConnection as ClientRequestArgs['createConnection']) ?? (secure ? tlsConnectFor : netConnectFor),
    };
    if (url.protocol === 'ws+unix:') {
      // As ws: ws+unix:///path/to/socket:/request/path
      const target = unixSocketTarget(url);
      requestOptions.socketPath = target.socketPath;
      requestOptions.path = target.path;
    }
    // As ws: credentials in the URL (ws://user:pass@host/) become HTTP Basic authentication.
    if (url.username || url.password) requestOptions.auth = `${percentDecode(url.username)}:${percentDecode(url.password)}`;
    if (secure && requestOptions.servername === undefined && isIP(hostname) === 0) requestOptions.servername = hostname;

    this.tunnel = null;
    const req: ClientRequest = (secure ? httpsRequest : httpRequest)(requestOptions);
    this.req = req;

    if (handshakeTimeout !== undefined) {
      req.on('timeout', () => this.fail(new Error('Opening handshake has timed out')));
    }
    req.on('error', (error) => {
      if (this.req !== req) return;
      this.req = null;
      this.fail(error);
    });
    req.on('response', (res: IncomingMessage) => {
      if (this.req !== req) return;
      const location = res.headers.location;
      const status = res.statusCode ?? 0;
      if (followRedirects && location && status >= 300 && status < 400) {
        res.resume();
        this.req = null;
        req.destroy();
        if (++state.count > (maxRedirects ?? DEFAULT_MAX_REDIRECTS)) {
          this.fail(new Error('Maximum redirects exceeded'));
          return;
        }
        try {
          const next = webSocketUrl(location, url);
          this.start(next, redirectedOptions(events, next, options, state), state);
        } catch (error) {
          // A bad Location; an http.Agent given for ws: redirected to wss:; a 'redirect' listener that throws.
          this.fail(error as Error);
        }
        return;
      }
      if (!events.emit('unexpected-response', req, res)) {
        res.resume();
        this.fail(new Error(`Unexpected server response: ${res.statusCode}`));
      }
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      events.emit('upgrade', res);
      if (this.req !== req) {
        // Aborted (close()/terminate()) while the response was on its way.
        socket.destroy();
        return;
      }
      this.req = null;
      const result = validateUpgradeResponse(res, { key, protocols, extensionsOffered: deflate !== null ? [deflate.name] : [] });
      if (!result.ok) {
        socket.destroy();
        this.fail(new Error(result.reason));
        return;
      }
      let extension: MessageTransform | null;
      try {
        extension = acceptedTransform(deflate, result.extensions);
      } catch (error) {
        socket.destroy();
        this.fail(error as Error);
        return;
      }
      this.outcome.opened({ stream: socket, head, settings, protocol: result.protocol, extension });
    });
    // As ws: after a redirect, 'redirect' (new URL, request) comes before the request is sent,
    // so a listener may still set headers on it.
    if (state.count > 0) events.emit('redirect', this.url, req);
    if (this.req !== req) return; // a 'redirect' listener closed the WebSocket
    if (!finishRequest) return void req.end();
    try {
      finishRequest(req, events as WebSocket);
    } catch (error) {
      // Thrown to the caller (the constructor, or the redirect's failure): nothing may connect afterwards.
      this.req = null;
      req.destroy();
      throw error;
    }
  }
}

/** The proxy for `url`: the option's, the environment's with 'env', or none. */
function proxyFor(url: URL, option: ClientOptions['proxy']): ProxyEndpoint | null {
  if (option === undefined) return null;
  if (option === 'env') {
    const fromEnv = proxyFromEnvironment(url, process.env);
    return fromEnv === null ? null : parseProxyUrl(fromEnv);
  }
  const text = typeof option === 'string' ? option : option instanceof URL ? option.href : typeof option.url === 'string' ? option.url : option.url.href;
  return parseProxyUrl(text);
}

/**
 * Options for the request after a redirect. As ws (and curl): when nobody
 * listens to 'redirect', credentials (Authorization, Cookie, `auth`) are
 * dropped on a redirect to another host or from wss: to ws:, and Host on a
 * redirect to another host.
 */
function redirectedOptions(events: EventEmitter, url: URL, options: ClientOptions, state: RedirectState): ClientOptions {
  if (events.listenerCount('redirect') > 0) return options;
  const sameHost = url.host === state.originalHost;
  if (sameHost && !(state.originalSecure && url.protocol === 'ws:')) return options;
  const drop = new Set(sameHost ? ['authorization', 'cookie'] : ['authorization', 'cookie', 'host']);
  const headers = Object.fromEntries(Object.entries(options.headers ?? {}).filter(([name]) => !drop.has(name.toLowerCase())));
  return { ...options, headers, auth: undefined };
}

/** ws's generateMask as a key source: one 4-byte key per connection, filled for each frame. */
export function maskKeysFrom(generateMask: ((mask: Buffer) => void) | undefined): (() => Uint8Array) | undefined {
  if (generateMask === undefined) return undefined;
  const key = Buffer.alloc(4);
  return () => {
    generateMask(key);
    return key;
  };
}

/** URL userinfo is percent-encoded; a malformed escape is taken literally. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// Connect directly, bypassing http.Agent pooling: an upgraded socket is never reused.
function netConnectFor(options: any): Socket {
  // `path` is the request's path here, unless node:http put the Unix socket's path there.
  if (options.socketPath !== undefined) return netConnect({ path: options.socketPath });
  return netConnect({ ...options, path: undefined });
}
function tlsConnectFor(options: any): Socket {
  return tlsConnect({ ...options, path: undefined });
}
