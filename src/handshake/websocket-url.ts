/**
 * WebSocket URIs (RFC 6455 section 3): the URL a client is given (ws/wss,
 * http/https mapped to them, no fragment) and the path of the resource name
 * a server receives. Pure functions over strings; nothing here opens a socket.
 *
 * Owns the URL rules, not the error a caller throws: the Node client throws
 * a SyntaxError worded as ws words it (webSocketUrl below); the WHATWG facade
 * (src/web) maps the same result to a SyntaxError DOMException in the
 * standard's wording.
 */

/** The parsed URL, or why the string is not a WebSocket URL. */
export type WebSocketUrlResult =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly problem: 'invalid' }
  // `scheme`: the refused one, without its colon ('ftp').
  | { readonly ok: false; readonly problem: 'scheme'; readonly scheme: string }
  | { readonly ok: false; readonly problem: 'fragment' }
  | { readonly ok: false; readonly problem: 'empty-socket-path' };

export interface WebSocketUrlOptions {
  /** Resolve a relative input against this (a redirect's Location). */
  base?: URL | undefined;
  /**
   * Also refuse an empty fragment ("ws://h/#"), whose `hash` is '' like no
   * fragment at all. The WHATWG standard refuses any non-null fragment; ws
   * (and so the Node client) refuses only a non-empty one.
   */
  refuseEmptyFragment?: boolean;
  /**
   * Also accept ws+unix: URLs, as ws's client does: `ws+unix:///tmp/app.sock:/chat`
   * (a Unix socket path, then after ':' the request path). Not a scheme of
   * RFC 6455 nor of browsers, so only the Node client asks for it.
   */
  allowUnix?: boolean;
}

export function parseWebSocketUrl(input: string, options: WebSocketUrlOptions = {}): WebSocketUrlResult {
  let url: URL;
  try {
    url = new URL(input, options.base);
  } catch {
    return { ok: false, problem: 'invalid' };
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  const unix = options.allowUnix === true && url.protocol === 'ws+unix:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:' && !unix) return { ok: false, problem: 'scheme', scheme: url.protocol.slice(0, -1) };
  if (unix && (url.pathname === '' || url.pathname === '/' || url.pathname.startsWith('/:'))) return { ok: false, problem: 'empty-socket-path' };
  if (url.hash !== '' || (options.refuseEmptyFragment === true && url.href.endsWith('#'))) return { ok: false, problem: 'fragment' };
  return { ok: true, url };
}

/**
 * The Node client's parse (relative to `base`, for a redirect's Location):
 * anything but a ws/wss/http/https URL without a fragment, or a string that
 * is no URL at all, throws a SyntaxError with ws's messages.
 */
export function webSocketUrl(input: string, base?: URL): URL {
  const parsed = parseWebSocketUrl(input, { base, allowUnix: true });
  if (parsed.ok) return parsed.url;
  switch (parsed.problem) {
    case 'invalid':
      throw new SyntaxError(`Invalid URL: ${input}`);
    case 'scheme':
      throw new SyntaxError(`The URL's protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"`);
    case 'fragment':
      throw new SyntaxError('The URL contains a fragment identifier');
    case 'empty-socket-path':
      throw new SyntaxError("The URL's pathname is empty");
  }
}

/**
 * Where a ws+unix: URL leads: the socket path (before the first ':') and the
 * request path (after it, '/' when absent), query included.
 */
export function unixSocketTarget(url: URL): { socketPath: string; path: string } {
  const whole = `${decodeURIComponent(url.pathname)}${url.search}`;
  const colon = whole.indexOf(':');
  return colon === -1 ? { socketPath: whole, path: '/' } : { socketPath: whole.slice(0, colon), path: whole.slice(colon + 1) || '/' };
}

/**
 * The path of a request-target in origin-form ("/chat?room=1" -> "/chat"):
 * what a server matches its endpoint against. The request line carries no
 * fragment, so only the query is cut.
 */
export function pathnameOf(requestTarget: string): string {
  const q = requestTarget.indexOf('?');
  return q === -1 ? requestTarget : requestTarget.slice(0, q);
}
