/**
 * A strict, bounded parser for the head of an HTTP/1.1 request (RFC 9112
 * sections 2-5): the request line and the header fields, up to the empty
 * line. It serves the upgrade server a WebSocketServer runs on its own port
 * (src/node/upgrade-server.ts), where node:http's general machinery is more
 * than an upgrade needs.
 *
 * Strict: CRLF line ends only, no obs-fold, no whitespace before a colon,
 * token methods and field names, no control characters in values. Bounded:
 * the whole head and the number of fields have limits (431 above them), and
 * every byte is looked at a fixed number of times (linear in the head's size).
 * Pure: bytes in, a request head or a refusal out.
 */
import { isToken } from './header-grammar.js';

export interface RequestHead {
  method: string;
  /** The request-target as sent (origin-form for a WebSocket handshake). */
  url: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: 0 | 1;
  /** Lowercase names; repeated fields combined as node:http does (see addField). */
  headers: Record<string, string | string[]>;
  /** Names and values as sent, alternating, as node:http's rawHeaders. */
  rawHeaders: string[];
  /** Offset of the first byte after the head's empty line. */
  headEnd: number;
}

export type RequestHeadResult =
  | { ok: true; head: RequestHead }
  | { ok: false; status: 400 | 431 | 505; reason: string };

export interface RequestHeadLimits {
  /** Largest head in bytes, request line and empty line included. */
  maxHeadBytes: number;
  /** Most header fields. */
  maxFields: number;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * Where the head ends (the offset after its empty line), or -1 while it is
 * incomplete. `from` lets a caller resume the search over a growing buffer.
 */
export function findHeadEnd(buffer: Buffer, from = 0): number {
  const at = buffer.indexOf(CRLF_CRLF, Math.max(0, from - 3));
  return at === -1 ? -1 : at + 4;
}

/** Longer methods are not worth waiting for (the registered ones have at most 17 letters). */
const MAX_METHOD_LENGTH = 32;

/**
 * Can these first bytes of a connection still become a request line? They
 * cannot once the method (the bytes before the first space) holds a byte
 * that is no token character, or grows past 32 bytes: a TLS ClientHello or
 * other non-HTTP bytes are then refused at once, without waiting for a head.
 */
export function isPlausibleRequestStart(buffer: Buffer): boolean {
  const n = Math.min(buffer.length, MAX_METHOD_LENGTH + 1);
  for (let i = 0; i < n; i++) {
    const c = buffer[i]!;
    if (c === 0x20) return i > 0;
    if (c >= 128 || !isToken(String.fromCharCode(c))) return false;
  }
  return n <= MAX_METHOD_LENGTH;
}

// Fields node:http keeps only once (the first wins), from its own list.
const SINGLE = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** Control characters other than HTAB, and DEL, are not allowed in a field value. */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** request-target: visible ASCII (and obs-text) only, no spaces or controls. */
const BAD_TARGET = /[\x00-\x20\x7f]/;

/**
 * Parse the head in `buffer[0, headEnd)` (headEnd from findHeadEnd).
 * `buffer` may hold more after it (the first WebSocket frames).
 */
export function parseRequestHead(buffer: Buffer, headEnd: number, limits: RequestHeadLimits): RequestHeadResult {
  if (headEnd > limits.maxHeadBytes) return { ok: false, status: 431, reason: `Request head larger than ${limits.maxHeadBytes} bytes` };
  const text = buffer.toString('latin1', 0, headEnd - 4);
  const lines = text.split('\r\n');
  const requestLine = lines[0]!;
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || requestLine.indexOf(' ', sp2 + 1) !== -1) return bad('Malformed request line');
  const method = requestLine.slice(0, sp1);
  const url = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (!isToken(method)) return bad('Malformed request method');
  if (url.length === 0 || BAD_TARGET.test(url)) return bad('Malformed request target');
  let versionMinor: 0 | 1;
  if (version === 'HTTP/1.1') versionMinor = 1;
  else if (version === 'HTTP/1.0') versionMinor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) return { ok: false, status: 505, reason: `HTTP version not supported: ${version}` };
  else return bad('Malformed HTTP version');
  if (lines.length - 1 > limits.maxFields) return { ok: false, status: 431, reason: `More than ${limits.maxFields} header fields` };
  const headers: Record<string, string | string[]> = Object.create(null);
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      // A line starting with whitespace is obs-fold (RFC 9112 5.2): refused, as a server may.
      return bad(line.length > 0 && (line[0] === ' ' || line[0] === '\t') ? 'Folded header lines are not accepted' : 'Malformed header line');
    }
    const name = line.slice(0, colon);
    if (!isToken(name)) return bad(`Malformed header name ${JSON.stringify(name)}`);
    const value = trimOws(line.slice(colon + 1));
    if (BAD_VALUE.test(value)) return bad(`Invalid character in the ${name} header`);
    rawHeaders.push(name, value);
    addField(headers, name.toLowerCase(), value);
  }
  return { ok: true, head: { method, url, versionMinor, headers, rawHeaders, headEnd } };
}

/** As node:http combines repeated fields: set-cookie a list, cookie joined by '; ', singletons once, others by ', '. */
function addField(headers: Record<string, string | string[]>, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) {
    headers[name] = name === 'set-cookie' ? [value] : value;
  } else if (name === 'set-cookie') {
    (existing as string[]).push(value);
  } else if (!SINGLE.has(name)) {
    headers[name] = `${existing as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
}

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return s.slice(start, end);
}

function bad(reason: string): RequestHeadResult {
  return { ok: false, status: 400, reason };
}
