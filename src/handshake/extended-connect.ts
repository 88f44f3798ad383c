/**
 * The opening handshake of a WebSocket over HTTP/2 (RFC 8441): an Extended
 * CONNECT request on one stream, answered with :status 200 or refused. The
 * server's rules and the client's, both pure like server-handshake.ts: header
 * objects as node:http2 gives and takes them (lowercase names, pseudo-headers
 * with their ':') in, decisions and header objects out. Streams, sessions,
 * SETTINGS and verifyClient belong to src/node/http2-upgrade.ts.
 *
 * What differs from RFC 6455 4: there is no Upgrade, Connection, Host,
 * Sec-WebSocket-Key or Sec-WebSocket-Accept (RFC 8441 5); Origin,
 * Sec-WebSocket-Version, -Protocol and -Extensions mean what they mean over
 * HTTP/1.1, and are checked by the same code (server-handshake.ts).
 */
import { Buffer } from 'node:buffer';
import { validateNegotiation, type UpgradeExpectations, type UpgradeResponseResult } from './client-handshake.js';
import { isToken, type ExtensionOffer } from './header-grammar.js';
import { offeredExtensions, offeredSubprotocols, type HandshakeRejection, type RejectHeaders } from './server-handshake.js';

/** Header fields as node:http2 presents a request's or a response's. */
export type Http2Headers = Record<string, string | string[] | number | undefined>;

export type ExtendedConnectInfo = {
  ok: true;
  /** :path, the path and query of the WebSocket URI (RFC 8441 5). */
  path: string;
  /** :authority, standing in for Host (RFC 8441 5). */
  authority: string;
  /** 'https' for a wss: URI, 'http' for ws: (RFC 8441 5). */
  scheme: 'http' | 'https';
  protocols: string[];
  extensions: ExtensionOffer[];
  origin: string | undefined;
};

/** The only version RFC 8441 carries: the drafts before 13 predate HTTP/2. */
const VERSION = '13';

/**
 * Header fields that are specific to one HTTP/1.1 connection: an HTTP/2
 * message carrying one is malformed (RFC 9113 8.2.2), and RFC 8441 5 says so
 * of Connection and Upgrade in particular. node:http2 refuses to send them.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const reject = (status: number, reason: string, headers?: Record<string, string>): HandshakeRejection =>
  headers === undefined ? { ok: false, status, reason } : { ok: false, status, reason, headers };

const single = (value: string | string[] | number | undefined): string | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value);

/**
 * Is this stream's request an Extended CONNECT (RFC 8441 4)? Only such a
 * request carries :protocol; a plain CONNECT (RFC 9113 8.5) and every other
 * request are the HTTP server's business, not ours.
 */
export function isExtendedConnect(headers: Http2Headers): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] !== undefined;
}

/**
 * Checks an Extended CONNECT request as the opening handshake of a WebSocket
 * (RFC 8441 4 and 5), in the order of those sections, returning the first
 * problem as a refusal. Like validateUpgradeRequest, it leaves the path and
 * the Origin policy to the server.
 */
export function validateExtendedConnect(headers: Http2Headers): ExtendedConnectInfo | HandshakeRejection {
  if (headers[':method'] !== 'CONNECT') {
    return reject(405, 'Method Not Allowed: a WebSocket over HTTP/2 opens with an Extended CONNECT', { allow: 'CONNECT' });
  }
  // RFC 8441 5: :protocol MUST be "websocket". Another protocol is one we do not
  // implement; RFC 9220 3 (the same mechanism over HTTP/3) asks for 501.
  const protocol = single(headers[':protocol']);
  if (protocol !== 'websocket') {
    return reject(501, `Not Implemented: the :protocol ${JSON.stringify(protocol ?? '')} is not supported (only "websocket")`);
  }
  // RFC 8441 4: with :protocol, :scheme and :path are included; 5: "https" for
  // wss: and "http" for ws:. An empty :path is malformed (RFC 9113 8.3.1).
  const scheme = single(headers[':scheme']);
  if (scheme !== 'http' && scheme !== 'https') {
    return reject(400, 'Missing or invalid :scheme pseudo-header: it must be "http" or "https"');
  }
  const path = single(headers[':path']);
  if (path === undefined || path === '' || (path[0] !== '/' && path !== '*')) {
    return reject(400, 'Missing or invalid :path pseudo-header');
  }
  // RFC 8441 5: the Host information is conveyed by :authority.
  const authority = single(headers[':authority']);
  if (authority === undefined || authority === '') {
    return reject(400, 'Missing :authority pseudo-header');
  }
  for (const name of CONNECTION_SPECIFIC) {
    if (headers[name] !== undefined) return reject(400, `Connection-specific header field "${name}" is not allowed over HTTP/2`);
  }
  // RFC 8441 5: Sec-WebSocket-Version is used as in RFC 6455 4.2.2 (426 + the
  // version we speak when the client asks for another).
  const version = single(headers['sec-websocket-version']);
  if (version === undefined || version === '') {
    return reject(400, 'Missing Sec-WebSocket-Version header', { 'sec-websocket-version': VERSION });
  }
  if (version !== VERSION) {
    return reject(426, 'Unsupported WebSocket version: version 13 is supported', { 'sec-websocket-version': VERSION });
  }
  const protocols = offeredSubprotocols(stringHeader(headers['sec-websocket-protocol']));
  if (!Array.isArray(protocols)) return protocols;
  const extensions = offeredExtensions(stringHeader(headers['sec-websocket-extensions']));
  if (!Array.isArray(extensions)) return extensions;
  return { ok: true, path, authority, scheme, protocols, extensions, origin: single(headers['origin']) };
}

const stringHeader = (value: string | string[] | number | undefined): string | string[] | undefined =>
  typeof value === 'number' ? String(value) : value;

export interface ExtendedConnectAcceptOptions {
  /** The selected subprotocol; omit for none. */
  protocol?: string;
  /** The negotiated Sec-WebSocket-Extensions value; omit or '' for none. */
  extensions?: string;
}

/**
 * The acceptance as header lines, the first one a status line ("HTTP/2 200"),
 * the form the server's 'headers' listeners already know from HTTP/1.1 (they
 * may push "Name: value" lines, a Set-Cookie say); http2ResponseHeaders turns
 * them into the HEADERS frame's fields. No Sec-WebSocket-Accept (RFC 8441 5).
 */
export function buildExtendedConnectHeaderLines(opts: ExtendedConnectAcceptOptions): string[] {
  const lines = ['HTTP/2 200'];
  if (opts.protocol !== undefined) {
    if (!isToken(opts.protocol)) throw new TypeError(`Invalid subprotocol ${JSON.stringify(opts.protocol)}: it must be a token`);
    lines.push(`sec-websocket-protocol: ${opts.protocol}`);
  }
  if (opts.extensions !== undefined && opts.extensions !== '') lines.push(`sec-websocket-extensions: ${opts.extensions}`);
  return lines;
}

/**
 * The response fields for header lines as buildExtendedConnectHeaderLines
 * makes them (and listeners extend them): :status from the status line, then
 * every "Name: value" line with its name lowercased (RFC 9113 8.2). Throws
 * TypeError on a malformed line, a name that is not a token, a value with CR,
 * LF or NUL, or a connection-specific field (RFC 9113 8.2.2): the caller
 * refuses with 500 instead of sending a response the client must reject.
 */
export function http2ResponseHeaders(lines: readonly string[]): Record<string, string | string[] | number> {
  const status = /^HTTP\/2 (\d{3})$/.exec(lines[0] ?? '');
  if (status === null) throw new TypeError(`Invalid status line ${JSON.stringify(lines[0])}: expected "HTTP/2 <status>"`);
  const out: Record<string, string | string[] | number> = { ':status': Number(status[1]) };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TypeError(`Invalid header line ${JSON.stringify(line)}: expected "Name: value"`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!isToken(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
    if (/[\r\n\0]/.test(value)) throw new TypeError(`Invalid value for header "${name}": it contains CR, LF or NUL`);
    if (CONNECTION_SPECIFIC.has(name)) throw new TypeError(`Header "${name}" is connection-specific and not allowed over HTTP/2`);
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else out[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  }
  return out;
}

const clean = (value: string | number): string => String(value).replace(/[\r\n\0]/g, '');

// Fields of a refusal that are ours: a caller's could contradict the body.
const RESERVED_REJECT_HEADERS = new Set(['content-type', 'content-length']);

/**
 * A refusal: its response fields (a 4xx or 5xx :status, a plain-text body's
 * type and length) and the body, `reason`. Extra fields with invalid or
 * reserved names, pseudo-headers and connection-specific fields are dropped;
 * CR, LF and NUL are removed from values (they may echo client input, and
 * this runs on an error path where throwing would hide the problem).
 */
export function buildExtendedConnectRejection(
  status: number,
  reason: string,
  headers?: RejectHeaders,
): { headers: Record<string, string | number | string[]>; body: Buffer } {
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`Invalid HTTP status code: ${status}`);
  const body = Buffer.from(reason, 'utf8');
  const out: Record<string, string | number | string[]> = {
    ':status': status,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
  };
  for (const [rawName, value] of Object.entries(headers ?? {})) {
    const name = rawName.toLowerCase();
    if (value === undefined || !isToken(name) || RESERVED_REJECT_HEADERS.has(name) || CONNECTION_SPECIFIC.has(name)) continue;
    out[name] = Array.isArray(value) ? value.map(clean) : clean(value as string | number);
  }
  return { headers: out, body };
}

// ---------------------------------------------------------------- client side

export interface ExtendedConnectRequestOptions {
  /** The WebSocket URI (ws: or wss:), already checked by webSocketUrl. */
  url: URL;
  /** Subprotocols offered, in order of preference. */
  protocols: readonly string[];
  /** The Sec-WebSocket-Extensions offer (formatExtensions of the offers). */
  extensions?: string;
  origin?: string;
  /** Extra fields (names are lowercased; Host and connection-specific ones are left out). */
  headers?: Record<string, string>;
}

/** Fields a caller's extra headers may not set: HTTP/2 states them otherwise, or we do. */
const RESERVED_REQUEST_HEADERS = new Set(['host', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions']);

/**
 * The Extended CONNECT request for a WebSocket URI (RFC 8441 4 and 5):
 * :protocol "websocket", :scheme "https" for wss: and "http" for ws:, :path
 * the path and query, :authority the host (and port) standing in for Host.
 * Throws TypeError for an invalid subprotocol or a field value with CR, LF or NUL.
 */
export function buildExtendedConnectRequest(opts: ExtendedConnectRequestOptions): Record<string, string> {
  const url = opts.url;
  const out: Record<string, string> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': url.protocol === 'wss:' ? 'https' : 'http',
    ':path': `${url.pathname || '/'}${url.search}`,
    ':authority': url.host,
    'sec-websocket-version': VERSION,
  };
  for (const protocol of opts.protocols) {
    if (!isToken(protocol)) throw new TypeError(`Invalid subprotocol ${JSON.stringify(protocol)}: it must be a token`);
  }
  if (new Set(opts.protocols).size !== opts.protocols.length) throw new TypeError('A subprotocol is listed twice');
  if (opts.protocols.length > 0) out['sec-websocket-protocol'] = opts.protocols.join(', ');
  if (opts.extensions !== undefined && opts.extensions !== '') out['sec-websocket-extensions'] = opts.extensions;
  if (opts.origin !== undefined) out['origin'] = checkValue('origin', opts.origin);
  for (const [rawName, value] of Object.entries(opts.headers ?? {})) {
    const name = rawName.toLowerCase();
    if (!isToken(name)) throw new TypeError(`Invalid header name ${JSON.stringify(rawName)}`);
    if (RESERVED_REQUEST_HEADERS.has(name) || CONNECTION_SPECIFIC.has(name)) continue;
    out[name] = checkValue(name, String(value));
  }
  return out;
}

function checkValue(name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`Invalid value for header "${name}": it contains CR, LF or NUL`);
  return value;
}

/**
 * Checks the server's answer to our Extended CONNECT: :status 200 accepts
 * (RFC 8441 5; there is no Sec-WebSocket-Accept to check), then the
 * subprotocol and extensions as over HTTP/1.1 (validateNegotiation).
 */
export function validateExtendedConnectResponse(
  headers: Http2Headers,
  expect: Pick<UpgradeExpectations, 'protocols' | 'extensionsOffered'>,
): UpgradeResponseResult {
  const status = headers[':status'];
  if (Number(status) !== 200) return { ok: false, reason: `Unexpected server response: ${status ?? 'none'}` };
  const fields: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) fields[name] = typeof value === 'number' ? String(value) : value;
  return validateNegotiation(fields, expect);
}
