/**
 * The client side of the opening handshake (RFC 6455 4.1): the request headers
 * to send and the checks a 101 response must pass before the connection is
 * OPEN. Pure: it never opens a socket or reads a body; the client adapter
 * passes the headers to http.request and hands us the response.
 */
import { computeAccept } from './accept-key.js';
import { HeaderSyntaxError, headerHasToken, isToken, parseExtensions, type ExtensionOffer } from './header-grammar.js';

export interface ClientRequestOptions {
  /** Our Sec-WebSocket-Key (see generateKey). */
  key: string;
  /** Subprotocols by preference; each a token, no duplicates. */
  protocols?: string[];
  /** The Sec-WebSocket-Extensions offer (see formatExtensions). */
  extensions?: string;
  /** Sent as Origin, or as Sec-WebSocket-Origin with version 8 (the hybi-08 draft named it so). */
  origin?: string;
  /** Sec-WebSocket-Version: 13 (default), or 8, which frames exactly as 13 (ws offers both). */
  version?: 13 | 8;
  /** Extra headers; they cannot replace the handshake's own fields. */
  headers?: Record<string, string>;
}

// Fields whose value defines the handshake itself: letting a user header win
// would silently produce a request the server cannot (or must not) accept.
const HANDSHAKE_HEADERS = new Set(['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version']);

/**
 * Headers for the upgrade request. Protocols are validated here rather than
 * left to the server so that a typo fails at the call site with a SyntaxError
 * (as browsers and ws do) instead of as an opaque 400.
 */
export function buildClientRequestHeaders(opts: ClientRequestOptions): Record<string, string> {
  const protocols = opts.protocols ?? [];
  if (protocols.some((p, i) => !isToken(p) || protocols.indexOf(p) !== i)) {
    throw new SyntaxError('An invalid or duplicated subprotocol was specified');
  }

  const ours: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': opts.key,
    'Sec-WebSocket-Version': String(opts.version ?? 13),
  };
  if (protocols.length > 0) ours['Sec-WebSocket-Protocol'] = protocols.join(', ');
  if (opts.extensions !== undefined && opts.extensions !== '') ours['Sec-WebSocket-Extensions'] = opts.extensions;
  if (opts.origin !== undefined) ours[opts.version === 8 ? 'Sec-WebSocket-Origin' : 'Origin'] = opts.origin;

  // Header names are case-insensitive: drop a user header that names a
  // handshake field or one we set from an explicit option, whatever its case.
  const taken = new Set([...HANDSHAKE_HEADERS, ...Object.keys(ours).map((n) => n.toLowerCase())]);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.headers ?? {})) {
    if (!taken.has(name.toLowerCase())) out[name] = value;
  }
  return Object.assign(out, ours);
}

export interface UpgradeResponseLike {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
}

export interface UpgradeExpectations {
  /** The Sec-WebSocket-Key we sent. */
  key: string;
  /** The subprotocols we offered ([] for none). */
  protocols: string[];
  /** The names of the extensions we offered. */
  extensionsOffered: string[];
}

export type UpgradeResponseResult =
  | { ok: true; protocol: string; extensions: ExtensionOffer[] }
  | { ok: false; reason: string };

/**
 * Checks the server's response (RFC 6455 4.1, "The client MUST validate the
 * server's response"). Any failure means the client must _Fail the WebSocket
 * Connection_; `reason` says why. On success `protocol` is '' when the server
 * picked none, and `extensions` are the accepted ones, in the server's order
 * (the order in which they apply, RFC 9.1), for the extension modules to check.
 */
export function validateUpgradeResponse(res: UpgradeResponseLike, expect: UpgradeExpectations): UpgradeResponseResult {
  const h = res.headers;
  if (res.statusCode !== 101) {
    return { ok: false, reason: `Unexpected server response: ${res.statusCode ?? 'none'}` };
  }
  // RFC 4.1 step 2 is stricter for the response than 4.2.1 is for the request:
  // the whole value must be "websocket" (any case), not merely contain it.
  const upgrade = h['upgrade'];
  if (typeof upgrade !== 'string' || upgrade.trim().toLowerCase() !== 'websocket') {
    return { ok: false, reason: 'Invalid Upgrade header' };
  }
  if (!headerHasToken(h['connection'], 'upgrade')) {
    return { ok: false, reason: 'Invalid Connection header' };
  }
  // "ignoring any leading and trailing whitespace" (RFC 4.1 step 4).
  const accept = h['sec-websocket-accept'];
  if (typeof accept !== 'string' || accept.trim() !== computeAccept(expect.key)) {
    return { ok: false, reason: 'Invalid Sec-WebSocket-Accept header' };
  }

  return validateNegotiation(h, expect);
}

/**
 * The negotiation part of a server's acceptance: the subprotocol it chose
 * (one we offered, RFC 6455 4.1 step 6) and the extensions it accepted (ones
 * we offered, well-formed, 4.1 step 5 and 9.1). The same over HTTP/1.1 and in
 * an HTTP/2 200 (RFC 8441 5 uses these fields as RFC 6455 does).
 */
export function validateNegotiation(
  h: Record<string, string | string[] | undefined>,
  expect: Pick<UpgradeExpectations, 'protocols' | 'extensionsOffered'>,
): UpgradeResponseResult {
  // Sec-WebSocket-Protocol-Server = token, one of ours (RFC 4.1 step 6). A
  // repeated header arrives comma-joined or as an array and so matches nothing.
  let protocol = '';
  const serverProtocol = h['sec-websocket-protocol'];
  if (serverProtocol !== undefined) {
    if (expect.protocols.length === 0) {
      return { ok: false, reason: 'Server sent a subprotocol but none was requested' };
    }
    if (typeof serverProtocol !== 'string' || !expect.protocols.includes(serverProtocol)) {
      return { ok: false, reason: 'Server sent an invalid subprotocol' };
    }
    protocol = serverProtocol;
  }

  // RFC 4.1 step 5 and 9.1: malformed or unrequested extensions fail the connection.
  let extensions: ExtensionOffer[] = [];
  const serverExtensions = h['sec-websocket-extensions'];
  if (serverExtensions !== undefined) {
    try {
      extensions = parseExtensions(serverExtensions);
    } catch (err) {
      if (!(err instanceof HeaderSyntaxError)) throw err;
      return { ok: false, reason: 'Invalid Sec-WebSocket-Extensions header' };
    }
    if (extensions.length === 0) {
      return { ok: false, reason: 'Invalid Sec-WebSocket-Extensions header' };
    }
    if (extensions.some((e) => !expect.extensionsOffered.includes(e.name))) {
      return { ok: false, reason: 'Server indicated an extension that was not requested' };
    }
  }

  return { ok: true, protocol, extensions };
}
