/**
 * The HTTP header grammar the handshake needs: RFC 7230 tokens, OWS, `#rule`
 * lists and quoted-strings, and the Sec-WebSocket-Extensions grammar of RFC
 * 6455 9.1. Owns syntax only: what an extension or subprotocol *means* belongs
 * to the extension modules and the server/client handshakes.
 *
 * Parsers are small hand-written scanners rather than regular expressions so
 * that every error can say where and why the value is malformed, and so that
 * hostile header values cannot trigger regex backtracking. Each one reads every
 * character a small constant number of times (through charCodeAt) and stops at
 * the first error or at the caller's element limit, so the work a hostile
 * header causes is proportional to its length (the tests count it).
 */

/** A header value did not match the grammar. `index` is the 0-based offset of the problem. */
export class HeaderSyntaxError extends Error {
  override readonly name = 'HeaderSyntaxError';
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * A list header holds more elements than the caller accepts. Thrown as soon as
 * the first element past `limit` starts (at `index`), so the rest of the value
 * is never read.
 */
export class HeaderLimitError extends Error {
  override readonly name = 'HeaderLimitError';
  constructor(
    message: string,
    readonly index: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** One `name[=value]` parameter of an extension; `value` is null when absent (not ''). */
export interface ExtensionParam {
  name: string;
  value: string | null;
}

/**
 * One extension in a Sec-WebSocket-Extensions list. `params` keeps the order
 * and duplicates of the header so the extension can reject a duplicated
 * parameter (RFC 7692 requires that, and only the extension knows its rules).
 */
export interface ExtensionOffer {
  name: string;
  params: ExtensionParam[];
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA        (RFC 7230 3.2.6)
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

const isTchar = (code: number): boolean => code < 128 && TCHAR[code] === 1;
const isOws = (code: number): boolean => code === 0x20 || code === 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True if `s` is a non-empty RFC 7230 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTchar(s.charCodeAt(i))) return false;
  }
  return true;
}

// Several instances of one header field are equivalent to one instance whose
// value is their comma-joined list (RFC 7230 3.2.2, RFC 6455 9.1).
function joinInstances(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.join(',');
}

const describe = (s: string, i: number): string =>
  i >= s.length ? 'end of input' : `character ${JSON.stringify(s[i])}`;

/**
 * Parses a `#token` list (Connection, Upgrade, Sec-WebSocket-Protocol). Empty
 * elements are skipped, as RFC 7230 section 7 requires recipients to do. An
 * element that is not a token throws HeaderSyntaxError; a non-empty element
 * past `maxElements` throws HeaderLimitError. Whether an empty list is
 * acceptable (`1#` rules) is the caller's decision.
 */
export function parseTokenList(value: string | string[] | undefined, maxElements = Infinity): string[] {
  const s = joinInstances(value);
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isOws(s.charCodeAt(i))) i++;
    const start = i;
    while (i < s.length && isTchar(s.charCodeAt(i))) i++;
    const end = i;
    if (end > start && out.length === maxElements) {
      throw new HeaderLimitError(`more than ${maxElements} elements`, start, maxElements);
    }
    while (i < s.length && isOws(s.charCodeAt(i))) i++;
    if (i < s.length && s.charCodeAt(i) !== COMMA) {
      throw new HeaderSyntaxError(`Unexpected ${describe(s, i)} at index ${i} in token list`, i);
    }
    if (end > start) out.push(s.slice(start, end));
    i++; // past the comma (or past the end)
  }
  return out;
}

/**
 * True if the list header contains `token`, compared ASCII case-insensitively
 * (e.g. Connection: "keep-alive, Upgrade" has "upgrade"). Never throws: elements
 * that are not tokens simply do not match, because headers like Upgrade may
 * legitimately hold non-token elements ("HTTP/2.0") next to the one we want.
 */
export function headerHasToken(value: string | string[] | undefined, token: string): boolean {
  const s = joinInstances(value);
  const wanted = token.toLowerCase();
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== COMMA) continue;
    // The element is s[start, i) without its surrounding OWS. Trimming by index
    // reads each character at most once more; a trim regex such as
    // /^[ \t]+|[ \t]+$/ backtracks over every run of inner spaces, quadratically.
    let from = start;
    let to = i;
    while (from < to && isOws(s.charCodeAt(from))) from++;
    while (to > from && isOws(s.charCodeAt(to - 1))) to--;
    if (equalsIgnoringAsciiCase(s, from, to, wanted)) return true;
    start = i + 1;
  }
  return false;
}

/** s[from, to) equals `lower` (already lower-case) with ASCII letters compared case-insensitively. */
function equalsIgnoringAsciiCase(s: string, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    let code = s.charCodeAt(from + k);
    if (code >= 0x41 && code <= 0x5a) code += 0x20;
    if (code !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Parses Sec-WebSocket-Extensions (RFC 6455 9.1):
 *
 *   extension-list = 1#extension
 *   extension      = token *( OWS ";" OWS extension-param )
 *   extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
 *
 * A quoted value is unescaped and must then be a token itself. Empty list
 * elements ("a,,b") are skipped per RFC 7230 7; an entirely empty value gives
 * [] and the caller decides whether that satisfies `1#`. Anything else that
 * does not match throws HeaderSyntaxError: RFC 6455 9.1 says malformed
 * negotiation data MUST fail the connection, so nothing is guessed. An offer
 * past `maxOffers`, or a parameter past `maxParams` in one offer, throws
 * HeaderLimitError.
 */
export function parseExtensions(value: string | string[] | undefined, limits: ExtensionLimits = {}): ExtensionOffer[] {
  return new ExtensionScanner(joinInstances(value), limits.maxOffers ?? Infinity, limits.maxParams ?? Infinity).list();
}

export interface ExtensionLimits {
  /** Most offers accepted in the whole header (default: no limit). */
  maxOffers?: number;
  /** Most parameters accepted in one offer (default: no limit). */
  maxParams?: number;
}

class ExtensionScanner {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly maxOffers: number,
    private readonly maxParams: number,
  ) {}

  list(): ExtensionOffer[] {
    const offers: ExtensionOffer[] = [];
    for (;;) {
      this.skipOws();
      if (this.atEnd()) return offers;
      if (this.peek() === COMMA) {
        this.i++; // empty element
        continue;
      }
      if (offers.length === this.maxOffers) {
        throw new HeaderLimitError(`more than ${this.maxOffers} extension offers`, this.i, this.maxOffers);
      }
      offers.push(this.extension());
      if (this.atEnd()) return offers;
      if (this.peek() !== COMMA) this.fail('expected "," or ";"');
      this.i++;
    }
  }

  private extension(): ExtensionOffer {
    const name = this.token('extension name');
    const params: ExtensionParam[] = [];
    this.skipOws();
    while (this.peek() === SEMICOLON) {
      this.i++;
      this.skipOws();
      if (params.length === this.maxParams) {
        throw new HeaderLimitError(`more than ${this.maxParams} parameters in extension "${name}"`, this.i, this.maxParams);
      }
      const paramName = this.token('parameter name');
      this.skipOws();
      let paramValue: string | null = null;
      if (this.peek() === EQUALS) {
        this.i++;
        this.skipOws();
        paramValue = this.peek() === DQUOTE ? this.quotedToken() : this.token('parameter value');
        this.skipOws();
      }
      params.push({ name: paramName, value: paramValue });
    }
    return { name, params };
  }

  private token(what: string): string {
    const start = this.i;
    while (!this.atEnd() && isTchar(this.s.charCodeAt(this.i))) this.i++;
    if (this.i === start) this.fail(`expected ${what}`);
    return this.s.slice(start, this.i);
  }

  // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE   (RFC 7230 3.2.6)
  private quotedToken(): string {
    const open = this.i++;
    let out = '';
    for (;;) {
      if (this.atEnd()) {
        throw new HeaderSyntaxError(`Unterminated quoted-string starting at index ${open}`, open);
      }
      let code = this.s.charCodeAt(this.i);
      if (code === DQUOTE) break;
      if (code === BACKSLASH) {
        this.i++;
        if (this.atEnd()) continue; // reported as unterminated on the next turn
        code = this.s.charCodeAt(this.i);
        if (!(code === 0x09 || (code >= 0x20 && code !== 0x7f))) this.fail('invalid escaped character');
      } else if (!(code === 0x09 || (code >= 0x20 && code !== 0x7f))) {
        this.fail('invalid character in quoted-string');
      }
      out += String.fromCharCode(code);
      this.i++;
    }
    this.i++; // closing quote
    // RFC 6455 9.1: quoting is only a spelling; the unescaped value must be a token.
    if (!isToken(out)) {
      throw new HeaderSyntaxError(`Quoted value ${JSON.stringify(out)} at index ${open} is not a token`, open);
    }
    return out;
  }

  private fail(expectation: string): never {
    throw new HeaderSyntaxError(`Unexpected ${describe(this.s, this.i)} at index ${this.i}: ${expectation}`, this.i);
  }

  private skipOws(): void {
    while (!this.atEnd() && isOws(this.s.charCodeAt(this.i))) this.i++;
  }

  /** The current character's code, NaN at the end. */
  private peek(): number {
    return this.s.charCodeAt(this.i);
  }

  private atEnd(): boolean {
    return this.i >= this.s.length;
  }
}

/**
 * Serializes offers, e.g. `permessage-deflate; client_max_window_bits, x-foo`.
 * Every name and value must be a token and is written bare: RFC 6455 9.1 only
 * allows quoted values that unescape to tokens, so quoting never adds anything
 * and a non-token value could only produce a header the peer must reject.
 * Throws TypeError for such a value (a bug in the caller, not peer input).
 */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((offer) => {
      const parts = [checkToken(offer.name, 'extension name')];
      for (const p of offer.params) {
        const name = checkToken(p.name, 'extension parameter name');
        parts.push(p.value === null ? name : `${name}=${checkToken(p.value, 'extension parameter value')}`);
      }
      return parts.join('; ');
    })
    .join(', ');
}

function checkToken(s: string, what: string): string {
  if (!isToken(s)) throw new TypeError(`Invalid ${what}: ${JSON.stringify(s)} is not a token`);
  return s;
}
