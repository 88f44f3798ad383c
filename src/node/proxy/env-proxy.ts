/**
 * `proxy: 'env'`: the proxy for a URL from the environment, as curl and most
 * HTTP clients read it. wss:/https: use https_proxy, then all_proxy; ws:/http:
 * use http_proxy, then all_proxy; lower case before upper case, an empty
 * value counts as unset. no_proxy/NO_PROXY lists hosts reached directly.
 * Pure: the environment is a parameter.
 */
import { BlockList, isIP } from 'node:net';

export type Environment = Readonly<Record<string, string | undefined>>;

function read(env: Environment, name: string): string | undefined {
  const value = env[name.toLowerCase()] || env[name.toUpperCase()];
  return value === undefined || value === '' ? undefined : value;
}

/** The proxy URL for `url`, or null for a direct connection. */
export function proxyFromEnvironment(url: URL, env: Environment): string | null {
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!secure && url.protocol !== 'ws:' && url.protocol !== 'http:') return null; // ws+unix: never
  const proxy = (secure ? read(env, 'https_proxy') : read(env, 'http_proxy')) ?? read(env, 'all_proxy');
  if (proxy === undefined) return null;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80;
  const noProxy = read(env, 'no_proxy');
  if (noProxy !== undefined && bypassesProxy(host, port, noProxy)) return null;
  return proxy;
}

/**
 * The usual NO_PROXY rules: entries separated by commas or spaces; `*` alone
 * matches everything; `example.com`, `.example.com` and `*.example.com` match
 * that domain and every name under it; `host:port` (`[::1]:port` for IPv6)
 * only that port; an IP address matches itself, and a CIDR block
 * (`10.0.0.0/8`, `fd00::/8`) the addresses in it. Names compare case-insensitively,
 * a trailing dot ignored. No name is resolved: an IP entry never matches a name.
 */
export function bypassesProxy(host: string, port: number, noProxy: string): boolean {
  const name = normalize(host);
  const family = isIP(name);
  for (const raw of noProxy.split(/[\s,]+/)) {
    if (raw === '') continue;
    if (raw === '*') return true;
    const entry = splitPort(raw.toLowerCase());
    if (entry.port !== null && entry.port !== port) continue;
    const pattern = normalize(entry.host.replace(/^\*?\./, ''));
    if (pattern === '') continue;
    if (pattern.includes('/')) {
      if (family !== 0 && inBlock(name, family, pattern)) return true;
      continue;
    }
    if (isIP(pattern) !== 0) {
      if (family !== 0 && sameAddress(name, pattern)) return true;
      continue;
    }
    if (family === 0 && (name === pattern || name.endsWith(`.${pattern}`))) return true;
  }
  return false;
}

const normalize = (host: string): string => host.toLowerCase().replace(/\.$/, '');

function splitPort(entry: string): { host: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) return { host: bracketed[1]!, port: bracketed[2] !== undefined ? Number(bracketed[2]) : null };
  const colon = entry.indexOf(':');
  // More than one colon and no brackets: a bare IPv6 address (possibly a CIDR block), no port.
  if (colon === -1 || entry.indexOf(':', colon + 1) !== -1) return { host: entry, port: null };
  const port = entry.slice(colon + 1);
  return /^\d+$/.test(port) ? { host: entry.slice(0, colon), port: Number(port) } : { host: entry, port: null };
}

function sameAddress(a: string, b: string): boolean {
  const family = isIP(a);
  if (family !== isIP(b)) return false;
  const list = new BlockList();
  list.addAddress(b, family === 6 ? 'ipv6' : 'ipv4');
  return list.check(a, family === 6 ? 'ipv6' : 'ipv4');
}

function inBlock(address: string, family: number, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const baseFamily = isIP(base);
  const prefix = Number(bits);
  if (baseFamily !== family || !/^\d+$/.test(bits) || prefix > (family === 6 ? 128 : 32)) return false;
  const list = new BlockList();
  const type = family === 6 ? 'ipv6' : 'ipv4';
  list.addSubnet(base, prefix, type);
  return list.check(address, type);
}
