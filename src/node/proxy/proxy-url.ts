/**
 * Parses a proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`,
 * `socks://`) into where to connect and how to authenticate. Pure: no I/O.
 */

export type ProxyScheme = 'http' | 'https' | 'socks5';

export interface ProxyEndpoint {
  readonly scheme: ProxyScheme;
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Percent-decoded userinfo; '' when absent. */
  readonly username: string;
  readonly password: string;
  /** `scheme://host:port`, safe to print (no credentials). */
  readonly display: string;
}

const SCHEMES: Record<string, { scheme: ProxyScheme; port: number }> = {
  'http:': { scheme: 'http', port: 80 },
  'https:': { scheme: 'https', port: 443 },
  // Both let the proxy resolve the target's name (see socks5.ts): the client never looks it up.
  'socks5:': { scheme: 'socks5', port: 1080 },
  'socks5h:': { scheme: 'socks5', port: 1080 },
  'socks:': { scheme: 'socks5', port: 1080 },
};

export function parseProxyUrl(text: string): ProxyEndpoint {
  let url: URL;
  try {
    // As curl: a bare `host:port` is an HTTP proxy.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new SyntaxError(`Invalid proxy URL: ${JSON.stringify(text)}`);
  }
  const known = SCHEMES[url.protocol];
  if (known === undefined) {
    throw new SyntaxError(`Unsupported proxy scheme "${url.protocol.slice(0, -1)}" (supported: http, https, socks5, socks5h)`);
  }
  if (url.hostname === '') throw new SyntaxError(`Invalid proxy URL: ${JSON.stringify(text)} has no host`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? known.port : Number(url.port);
  return {
    scheme: known.scheme,
    host,
    port,
    username: percentDecode(url.username),
    password: percentDecode(url.password),
    display: `${url.protocol}//${url.hostname}:${port}`,
  };
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
