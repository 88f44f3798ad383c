/**
 * The server side of the opening handshake (RFC 6455 4.2): deciding whether an
 * upgrade request is acceptable, and writing the 101 or the refusal as raw
 * HTTP/1.1 text. Pure on purpose: header objects in, decisions and strings
 * out. Sockets, timeouts, verifyClient hooks and extension negotiation belong
 * to the server adapter and the extension modules, not here.
 */
import { Buffer } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { DEFAULTS } from '../protocol/options.js';
import { computeAccept, isValidKey } from './accept-key.js';
import {
  HeaderLimitError,
  HeaderSyntaxError,
  headerHasToken,
  isToken,
  parseExtensions,
  parseTokenList,
  type ExtensionOffer,
} from './header-grammar.js';

// Caps on what one request may offer. They bound the work a hostile request
// can cause (each offer is parsed, kept and shown to handleProtocols or the
// extension negotiation) far above anything a real client sends: browsers send
// the subprotocols the page listed (the IANA registry holds about 50 names, a
// client offering more than a handful is rare) and one permessage-deflate
// offer with one parameter; RFC 7692 defines 4 parameters, each allowed once.
// Above a cap the handshake is refused with 400 and a reason naming it.

/** Most subprotocols a request may offer in Sec-WebSocket-Protocol (400 above). */
export const MAX_SUBPROTOCOLS: number = DEFAULTS.maxSubprotocols;
/** Most offers a request may make in Sec-WebSocket-Extensions (400 above). */
export const MAX_EXTENSION_OFFERS: number = DEFAULTS.maxExtensionOffers;
/** Most parameters one Sec-WebSocket-Extensions offer may carry (400 above). */
export const MAX_EXTENSION_PARAMS: number = DEFAULTS.maxExtensionParams;

/**
 * The parts of an upgrade request we read; header names are lowercase, as in
 * Node's IncomingMessage. A value may also be a number: requests built in
 * process (light-my-request, fastify's injectWS) pass
 * `'sec-websocket-version': 13` as one, and ws accepts it.
 */
export interface UpgradeRequestLike {
  method?: string;
  httpVersion?: string;
  url?: string;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface UpgradeRequestRules {
  /**
   * Refuse a request without Host (default true), as RFC 6455 4.1 (item 4)
   * and RFC 9112 3.2 require. A server turns it off only for a request that
   * did not come from the network (an in-process Duplex), where there is no
   * host to name and ws-based test helpers leave it out.
   */
  requireHost?: boolean;
}

/** Why a handshake was refused, ready for buildRejectResponse. */
export type HandshakeRejection = {
  ok: false;
  status: number;
  reason: string;
  headers?: Record<string, string>;
};

export type UpgradeRequestInfo = {
  ok: true;
  key: string;
  /** 13, or 8: the hybi-08 draft's framing is 13's (ws accepts it too). */
  version: 13 | 8;
  protocols: string[];
  extensions: ExtensionOffer[];
  origin: string | undefined;
};

/** The versions we answer, in our order of preference (RFC 6455 4.4). */
const SUPPORTED_VERSIONS = '13, 8';

const reject = (status: number, reason: string, headers?: Record<string, string>): HandshakeRejection =>
  headers === undefined ? { ok: false, status, reason } : { ok: false, status, reason, headers };

type HeaderValue = string | string[] | number | undefined;

/** A header as text: a number (in-process requests) becomes its decimal form. */
const text = (value: HeaderValue): string | string[] | undefined => (typeof value === 'number' ? String(value) : value);

// Node joins most repeated headers with ", "; a list keeps them apart. Either
// way a field that must appear once and hold one value is then invalid.
const single = (value: HeaderValue): string | undefined => {
  const v = text(value);
  return Array.isArray(v) ? v.join(', ') : v;
};

/**
 * Checks a client's opening handshake against RFC 6455 4.2.1, in the order the
 * RFC lists the fields, returning the first problem as an HTTP refusal. It does
 * not look at the path or Origin policy: those are the server's choices.
 * Its cost is linear in the size of the headers: list headers are scanned
 * once, up to the caps above.
 */
export function validateUpgradeRequest(req: UpgradeRequestLike, rules: UpgradeRequestRules = {}): UpgradeRequestInfo | HandshakeRejection {
  const h = req.headers;

  // Methods are case-sensitive (RFC 7231 4.1); 405 must say what is allowed.
  if (req.method !== 'GET') {
    return reject(405, 'Method Not Allowed: a WebSocket handshake must use GET', { Allow: 'GET' });
  }
  if (!isHttp11OrLater(req.httpVersion)) {
    return reject(400, 'Unsupported HTTP version: a WebSocket handshake requires HTTP/1.1 or later');
  }
  const host = single(h['host']);
  if ((host === undefined || host === '') && rules.requireHost !== false) {
    return reject(400, 'Missing Host header');
  }
  if (!headerHasToken(text(h['upgrade']), 'websocket')) {
    return reject(400, 'Missing or invalid Upgrade header');
  }
  if (!headerHasToken(text(h['connection']), 'upgrade')) {
    return reject(400, 'Missing or invalid Connection header');
  }
  // A repeated key arrives as an array or comma-joined, neither of which is a valid key.
  const key = text(h['sec-websocket-key']);
  if (typeof key !== 'string' || !isValidKey(key)) {
    return reject(400, 'Missing or invalid Sec-WebSocket-Key header');
  }

  // RFC 4.2.2 asks for 426 (+ the versions we speak) when the client asks for a
  // version we do not understand: it may retry with one we list (RFC 4.4). A
  // request with no version at all is not asking for another version, it is
  // simply not a WebSocket handshake as 4.2.1 describes, so it gets 400; it
  // still carries the header because it costs nothing and tells the client
  // what to send. Version 8 (the hybi-08 draft, still sent by some old
  // clients) frames exactly as 13 does: we understand it, as ws does.
  const version = single(h['sec-websocket-version']);
  if (version === undefined || version === '') {
    return reject(400, 'Missing Sec-WebSocket-Version header', { 'Sec-WebSocket-Version': SUPPORTED_VERSIONS });
  }
  if (version !== '13' && version !== '8') {
    return reject(426, 'Unsupported WebSocket version: versions 13 and 8 are supported', {
      'Sec-WebSocket-Version': SUPPORTED_VERSIONS,
    });
  }

  const protocols = offeredSubprotocols(text(h['sec-websocket-protocol']));
  if (!Array.isArray(protocols)) return protocols;
  const extensions = offeredExtensions(text(h['sec-websocket-extensions']));
  if (!Array.isArray(extensions)) return extensions;

  // The hybi-08 draft named the browser's origin Sec-WebSocket-Origin.
  const origin = single(h[version === '8' ? 'sec-websocket-origin' : 'origin']);
  return { ok: true, key, version: version === '8' ? 8 : 13, protocols, extensions, origin };
}

/**
 * The subprotocols a request offers: Sec-WebSocket-Protocol = 1#token,
 * elements unique (RFC 6455 4.1 step 10), at most MAX_SUBPROTOCOLS. Shared by
 * the HTTP/1.1 upgrade and HTTP/2's Extended CONNECT (RFC 8441 5 uses the
 * field as RFC 6455 does).
 */
export function offeredSubprotocols(header: string | string[] | undefined): string[] | HandshakeRejection {
  if (header === undefined) return [];
  let protocols: string[];
  try {
    protocols = parseTokenList(header, MAX_SUBPROTOCOLS);
  } catch (err) {
    if (err instanceof HeaderLimitError) {
      return reject(400, `Invalid Sec-WebSocket-Protocol header: more than ${MAX_SUBPROTOCOLS} subprotocols`);
    }
    return reject(400, `Invalid Sec-WebSocket-Protocol header: ${messageOf(err)}`);
  }
  if (protocols.length === 0) {
    return reject(400, 'Invalid Sec-WebSocket-Protocol header: the list is empty');
  }
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (seen.has(protocol)) {
      return reject(400, `Invalid Sec-WebSocket-Protocol header: subprotocol "${protocol}" is listed twice`);
    }
    seen.add(protocol);
  }
  return protocols;
}

/**
 * The extension offers of a request: Sec-WebSocket-Extensions = 1#extension
 * (RFC 6455 9.1). Whether the parameters make sense is for each extension to
 * judge during negotiation.
 */
export function offeredExtensions(header: string | string[] | undefined): ExtensionOffer[] | HandshakeRejection {
  if (header === undefined) return [];
  let extensions: ExtensionOffer[];
  try {
    extensions = parseExtensions(header, { maxOffers: MAX_EXTENSION_OFFERS, maxParams: MAX_EXTENSION_PARAMS });
  } catch (err) {
    return reject(400, `Invalid Sec-WebSocket-Extensions header: ${messageOf(err)}`);
  }
  if (extensions.length === 0) {
    return reject(400, 'Invalid Sec-WebSocket-Extensions header: the list is empty');
  }
  return extensions;
}

function isHttp11OrLater(httpVersion: string | undefined): boolean {
  // The length check keeps the pattern off long input (it could not backtrack
  // much anyway; the rule is simply that no regex sees an unbounded header).
  if (httpVersion === undefined || httpVersion.length > 7) return false;
  const m = /^(\d{1,3})\.(\d{1,3})$/.exec(httpVersion);
  if (m === null) return false;
  const major = Number(m[1]);
  return major > 1 || (major === 1 && Number(m[2]) >= 1);
}

function messageOf(err: unknown): string {
  if (err instanceof HeaderSyntaxError || err instanceof HeaderLimitError) return err.message;
  throw err; // anything else is a bug in the parser, not bad input
}

/**
 * The subprotocol to answer with, given what a handler chose. `false` or
 * `undefined` means none (no header is sent, RFC 4.2.2 /subprotocol/). A choice
 * the client did not offer throws: the client MUST fail such a connection
 * (RFC 4.1), so it is a handler bug, and the caller should refuse with 500
 * rather than send a 101 that is bound to fail.
 */
export function selectSubprotocol(offered: readonly string[], chosen: string | false | undefined): string | undefined {
  if (chosen === false || chosen === undefined) return undefined;
  if (!offered.includes(chosen)) {
    throw new Error(`Selected subprotocol ${JSON.stringify(chosen)} was not offered by the client`);
  }
  return chosen;
}

export interface AcceptResponseOptions {
  /** The client's Sec-WebSocket-Key, already validated. */
  key: string;
  /** The selected subprotocol; omit for none. */
  protocol?: string;
  /** The negotiated Sec-WebSocket-Extensions value (see formatExtensions); omit or '' for none. */
  extensions?: string;
  /** Extra headers, as [name, value] pairs or as raw "Name: value" lines. */
  headers?: Array<[string, string]> | string[];
}

/**
 * The 101 response as lines without CRLFs, status line first. The server hands
 * this array to its 'headers' listeners (ws-compatible) so they can push lines
 * before serializeHeaderLines joins it. Throws TypeError if a name is not a
 * token or a value contains CR, LF or NUL: such a value would let its source
 * inject headers or end the response early (response splitting).
 */
export function buildAcceptHeaderLines(opts: AcceptResponseOptions): string[] {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${computeAccept(opts.key)}`,
  ];
  if (opts.protocol !== undefined) {
    if (!isToken(opts.protocol)) {
      throw new TypeError(`Invalid subprotocol ${JSON.stringify(opts.protocol)}: it must be a token`);
    }
    lines.push(`Sec-WebSocket-Protocol: ${opts.protocol}`);
  }
  // '' is not the same as "no extensions" on the wire (RFC 4.2.2), so it is not sent.
  if (opts.extensions !== undefined && opts.extensions !== '') {
    lines.push(headerLine('Sec-WebSocket-Extensions', opts.extensions));
  }
  for (const extra of opts.headers ?? []) {
    lines.push(typeof extra === 'string' ? checkRawLine(extra) : headerLine(extra[0], extra[1]));
  }
  return lines;
}

/** The complete 101 response: buildAcceptHeaderLines joined by serializeHeaderLines. */
export function buildAcceptResponse(opts: AcceptResponseOptions): string {
  return serializeHeaderLines(buildAcceptHeaderLines(opts));
}

/**
 * Joins a status line and header lines into the response head, ending with the
 * empty line. Lines are re-checked because listeners may have pushed their own.
 */
export function serializeHeaderLines(lines: readonly string[]): string {
  for (const line of lines) {
    if (/[\r\n\0]/.test(line)) throw new TypeError(`Invalid header line ${JSON.stringify(line)}: it contains CR, LF or NUL`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function headerLine(name: string, value: string): string {
  if (!isToken(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(`Invalid value for header "${name}": it contains CR, LF or NUL`);
  }
  return `${name}: ${value}`;
}

function checkRawLine(line: string): string {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new TypeError(`Invalid header line ${JSON.stringify(line)}: expected "Name: value"`);
  headerLine(line.slice(0, colon), line.slice(colon + 1));
  return line;
}

/** Extra headers of a refusal, as node:http's OutgoingHttpHeaders (and ws's verifyClient) allow them. */
export type RejectHeaders = Record<string, string | number | readonly string[] | undefined>;

/** Reason phrases, node:http's table (I'm a Teapot included, as ws writes them). */
export const STATUS_TEXT: Readonly<Record<number, string | undefined>> = STATUS_CODES;

// The framing headers are ours: a caller's Connection or Content-Length could
// contradict the body we write or keep a connection open that we are closing.
const FRAMING_HEADERS = new Set(['connection', 'content-length']);

/**
 * A complete refusal with `reason` as its body, plain text unless `headers`
 * name another Content-Type (ws lets verifyClient's headers set it, e.g. to
 * answer JSON). CR and LF are removed from extra header values (they may echo
 * client input, and this runs on an error path where throwing would hide the
 * original problem); extra headers with invalid names or that collide with
 * the framing headers are dropped.
 */
export function buildRejectResponse(status: number, reason: string, headers?: RejectHeaders): string {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Invalid HTTP status code: ${status}`);
  }
  let contentType = 'text/plain; charset=utf-8';
  let extra = '';
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (value === undefined || !isToken(name) || FRAMING_HEADERS.has(lower)) continue;
    // A list (several Set-Cookie, say) is one line per value.
    for (const one of Array.isArray(value) ? value : [value]) {
      const clean = String(one).replace(/[\r\n\0]/g, '');
      if (lower === 'content-type') contentType = clean;
      else extra += `${name}: ${clean}\r\n`;
    }
  }
  const head =
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n` +
    'Connection: close\r\n' +
    `Content-Type: ${contentType}\r\n` +
    `Content-Length: ${Buffer.byteLength(reason, 'utf8')}\r\n`;
  return `${head}${extra}\r\n${reason}`;
}

/**
 * Origin policy: true if `origin` (scheme://host[:port], as browsers serialize
 * it) matches an allowed entry ASCII case-insensitively, or if `allowed`
 * contains '*'. A request without Origin is allowed: the check exists to stop
 * a page in a victim's browser from using the victim's cookies (RFC 6455 10.2),
 * and browsers always send Origin. A non-browser client is not that threat
 * and could send any Origin it likes, so requiring one would protect nothing.
 */
export function isOriginAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  const o = origin.toLowerCase();
  return allowed.some((a) => a === '*' || a.toLowerCase() === o);
}
