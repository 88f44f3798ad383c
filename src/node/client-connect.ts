/**
 * The client's opening handshake over node:http/node:https (RFC 6455 4.1):
 * build the upgrade request, validate the 101 response with src/handshake,
 * then attach the socket to the WebSocket. TLS options (ca, cert, key,
 * rejectUnauthorized, servername...) pass straight to node:tls.
 */
import { request as httpRequest, type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { buildClientRequestHeaders, formatExtensions, generateKey, validateUpgradeResponse, webSocketUrl } from '../handshake/index.js';
import { clientPerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate/index.js';
import type { MessageTransform } from '../protocol/extension.js';
import type { WebSocket } from './websocket.js';

export interface ClientOptions extends Omit<ClientRequestArgs, 'headers' | 'timeout' | 'protocol' | 'host' | 'hostname' | 'port' | 'path'>,
  Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername' | 'checkServerIdentity' | 'ciphers' | 'minVersion' | 'ALPNProtocols'> {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Value of the Origin header. */
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
  /** Accepted for ws compatibility: only 13 is supported. */
  protocolVersion?: number;
  /** Custom socket factory (e.g. a proxy tunnel); defaults to net/tls connect. */
  createConnection?: (options: any, oncreate?: any) => Duplex;
  /** Follow 3xx responses with a Location during the opening handshake (default false, as ws). */
  followRedirects?: boolean;
  /** With followRedirects: most redirects followed before failing (default 10). */
  maxRedirects?: number;
}

export const DEFAULT_MAX_REDIRECTS = 10;

/** Where a chain of redirects started (credentials do not follow a redirect elsewhere). */
interface RedirectState {
  count: number;
  readonly originalHost: string;
  readonly originalSecure: boolean;
}

export function connectClient(ws: WebSocket, address: string | URL, protocols: string[], options: ClientOptions): void {
  const url = webSocketUrl(address instanceof URL ? address.href : address);
  if (options.protocolVersion !== undefined && options.protocolVersion !== 13) {
    throw new RangeError(`Unsupported protocol version: ${options.protocolVersion} (supported versions: 13)`);
  }
  startHandshake(ws, url, protocols, options, { count: 0, originalHost: url.host, originalSecure: url.protocol === 'wss:' });
}

/**
 * Options for the request after a redirect. As ws (and curl): when nobody
 * listens to 'redirect', credentials (Authorization, Cookie, `auth`) are
 * dropped on a redirect to another host or from wss: to ws:, and Host on a
 * redirect to another host.
 */
function redirectedOptions(ws: WebSocket, url: URL, options: ClientOptions, state: RedirectState): ClientOptions {
  if (ws.listenerCount('redirect') > 0) return options;
  const sameHost = url.host === state.originalHost;
  if (sameHost && !(state.originalSecure && url.protocol === 'ws:')) return options;
  const drop = new Set(sameHost ? ['authorization', 'cookie'] : ['authorization', 'cookie', 'host']);
  const headers = Object.fromEntries(Object.entries(options.headers ?? {}).filter(([name]) => !drop.has(name.toLowerCase())));
  return { ...options, headers, auth: undefined };
}

function startHandshake(ws: WebSocket, url: URL, protocols: string[], options: ClientOptions, state: RedirectState): void {
  ws.url = url.href;
  const secure = url.protocol === 'wss:';
  const key = generateKey();
  const deflate = options.perMessageDeflate === false ? null : clientPerMessageDeflate(options.perMessageDeflate === true ? {} : (options.perMessageDeflate ?? {}));
  const headers = buildClientRequestHeaders({
    key,
    protocols,
    ...(deflate !== null ? { extensions: formatExtensions(deflate.offers()) } : {}),
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
  });
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const {
    handshakeTimeout, maxPayload, skipUTF8Validation, autoPong, closeTimeout, fragmentSize, origin: _origin,
    headers: _headers, protocolVersion: _pv, createConnection, perMessageDeflate: _pmd, followRedirects, maxRedirects, ...passThrough
  } = options;
  const requestOptions: ClientRequestArgs & TlsConnectionOptions = {
    ...passThrough,
    method: 'GET',
    host: hostname,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    path: `${url.pathname}${url.search}`,
    headers,
    createConnection: (createConnection as ClientRequestArgs['createConnection']) ?? (secure ? tlsConnectFor : netConnectFor),
  };
  // As ws: credentials in the URL (ws://user:pass@host/) become HTTP Basic authentication.
  if (url.username || url.password) requestOptions.auth = `${percentDecode(url.username)}:${percentDecode(url.password)}`;
  if (secure && requestOptions.servername === undefined && isIP(hostname) === 0) requestOptions.servername = hostname;
  if (handshakeTimeout !== undefined) requestOptions.timeout = handshakeTimeout;

  const req: ClientRequest = (secure ? httpsRequest : httpRequest)(requestOptions);
  ws._req = req;

  if (handshakeTimeout !== undefined) {
    req.on('timeout', () => ws._abortHandshake(new Error('Opening handshake has timed out')));
  }
  req.on('error', (error) => {
    if (ws._req !== req) return;
    ws._req = null;
    ws._abortHandshake(error);
  });
  req.on('response', (res: IncomingMessage) => {
    if (ws._req !== req) return;
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (followRedirects && location && status >= 300 && status < 400) {
      res.resume();
      ws._req = null;
      req.destroy();
      if (++state.count > (maxRedirects ?? DEFAULT_MAX_REDIRECTS)) {
        ws._abortHandshake(new Error('Maximum redirects exceeded'));
        return;
      }
      try {
        const next = webSocketUrl(location, url);
        startHandshake(ws, next, protocols, redirectedOptions(ws, next, options, state), state);
      } catch (error) {
        // A bad Location; an http.Agent given for ws: redirected to wss:; a 'redirect' listener that throws.
        ws._abortHandshake(error as Error);
      }
      return;
    }
    if (!ws.emit('unexpected-response', req, res)) {
      res.resume();
      ws._abortHandshake(new Error(`Unexpected server response: ${res.statusCode}`));
    }
  });
  req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
    ws.emit('upgrade', res);
    if (ws._req !== req) {
      // Aborted (close()/terminate()) while the response was on its way.
      socket.destroy();
      return;
    }
    ws._req = null;
    const result = validateUpgradeResponse(res, { key, protocols, extensionsOffered: deflate !== null ? [deflate.name] : [] });
    if (!result.ok) {
      socket.destroy();
      ws._abortHandshake(new Error(result.reason));
      return;
    }
    let extension: MessageTransform | null = null;
    if (result.extensions.length > 0) {
      try {
        if (result.extensions.length > 1) throw new Error(`Server accepted the "${deflate!.name}" extension more than once`);
        extension = deflate!.accept(result.extensions[0]!)();
      } catch (error) {
        socket.destroy();
        ws._abortHandshake(error as Error);
        return;
      }
      ws.extensions = result.extensions.map((e) => e.name).join(',');
    }
    ws.protocol = result.protocol;
    ws._attach(socket, head, {
      role: 'client',
      ...(maxPayload !== undefined ? { maxPayload } : {}),
      ...(skipUTF8Validation !== undefined ? { skipUTF8Validation } : {}),
      ...(autoPong !== undefined ? { autoPong } : {}),
      ...(closeTimeout !== undefined ? { closeTimeout } : {}),
      ...(fragmentSize !== undefined ? { fragmentSize } : {}),
      extension,
    });
    ws.emit('open');
  });
  // As ws: after a redirect, 'redirect' (new URL, request) comes before the request is sent,
  // so a listener may still set headers on it.
  if (state.count > 0) ws.emit('redirect', ws.url, req);
  if (ws._req === req) req.end(); // a 'redirect' listener may have closed the WebSocket
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
  return netConnect({ ...options, path: undefined });
}
function tlsConnectFor(options: any): Socket {
  return tlsConnect({ ...options, path: undefined });
}
