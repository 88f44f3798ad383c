/**
 * SOCKS5 (RFC 1928) CONNECT with username/password authentication
 * (RFC 1929), as a sans-I/O handshake. The target's host name is sent as a
 * name (ATYP 3): the proxy resolves it, so the client makes no DNS query of
 * its own (names that only the proxy's side can resolve work, and nothing
 * leaks to the local resolver). IP addresses go as addresses.
 */
import { isIP } from 'node:net';
import { ProxyError, type ProxyErrorCode } from './proxy-error.js';
import type { ProxyEndpoint } from './proxy-url.js';
import { authority, type TunnelHandshake, type TunnelStep } from './tunnel-handshake.js';

const VERSION = 0x05;
const AUTH_VERSION = 0x01;
const CMD_CONNECT = 0x01;
const enum Socks5Method {
  NoAuthentication = 0x00,
  UsernamePassword = 0x02,
  NoneAcceptable = 0xff,
}
const enum Socks5AddressType {
  IPv4 = 0x01,
  DomainName = 0x03,
  IPv6 = 0x04,
}

/** RFC 1928 6: the REP field of a reply. */
export const SOCKS5_REPLIES: Readonly<Record<number, string>> = {
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
};

type State = 'method' | 'auth' | 'connect' | 'done';

export class Socks5Handshake implements TunnelHandshake {
  readonly describe: string;
  private state: State = 'method';
  private pending: Buffer = Buffer.alloc(0);
  private readonly credentials: Buffer | null;
  private readonly request: Buffer;

  constructor(
    private readonly proxy: ProxyEndpoint,
    host: string,
    port: number,
  ) {
    this.describe = `SOCKS5 CONNECT to ${authority(host, port)}`;
    this.credentials = proxy.username !== '' || proxy.password !== '' ? encodeCredentials(proxy.username, proxy.password) : null;
    this.request = encodeConnectRequest(host, port);
  }

  start(): Buffer {
    // With credentials, offer both methods (the proxy picks); without, only "no authentication".
    return this.credentials !== null
      ? Buffer.from([VERSION, 2, Socks5Method.NoAuthentication, Socks5Method.UsernamePassword])
      : Buffer.from([VERSION, 1, Socks5Method.NoAuthentication]);
  }

  receive(chunk: Buffer): TunnelStep {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    switch (this.state) {
      case 'method':
        return this.onMethod();
      case 'auth':
        return this.onAuth();
      case 'connect':
        return this.onConnectReply();
      case 'done':
        return this.failed('ERR_PROXY_PROTOCOL', 'sent bytes after the handshake ended');
    }
  }

  private take(n: number): Buffer | null {
    if (this.pending.length < n) return null;
    const bytes = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return bytes;
  }

  private onMethod(): TunnelStep {
    const reply = this.take(2);
    if (reply === null) return { kind: 'more' };
    if (reply[0] !== VERSION) return this.failed('ERR_PROXY_PROTOCOL', `is not a SOCKS5 proxy (version byte ${reply[0]})`);
    const method = reply[1];
    if (method === Socks5Method.NoAuthentication) return this.sendRequest();
    if (method === Socks5Method.UsernamePassword && this.credentials !== null) {
      this.state = 'auth';
      return this.next({ kind: 'send', bytes: this.credentials });
    }
    if (method === Socks5Method.NoneAcceptable) {
      return this.failed('ERR_PROXY_AUTH_REQUIRED', this.credentials === null
        ? 'requires authentication: give user:pass in the proxy URL'
        : 'accepts none of the offered methods (no authentication, username/password)');
    }
    return this.failed('ERR_PROXY_PROTOCOL', `chose method ${method}, which was not offered`);
  }

  private onAuth(): TunnelStep {
    const reply = this.take(2);
    if (reply === null) return { kind: 'more' };
    if (reply[0] !== AUTH_VERSION) return this.failed('ERR_PROXY_PROTOCOL', `answered username/password authentication with version ${reply[0]}`);
    if (reply[1] !== 0) return this.failed('ERR_PROXY_AUTH_REQUIRED', `rejected the username/password (status ${reply[1]})`);
    return this.sendRequest();
  }

  private sendRequest(): TunnelStep {
    this.state = 'connect';
    return this.next({ kind: 'send', bytes: this.request });
  }

  /** After a 'send', bytes the proxy sent early may already be waiting. */
  private next(step: TunnelStep): TunnelStep {
    if (this.pending.length > 0) return this.failed('ERR_PROXY_PROTOCOL', 'sent bytes before it was asked');
    return step;
  }

  private onConnectReply(): TunnelStep {
    if (this.pending.length < 2) return { kind: 'more' };
    if (this.pending[0] !== VERSION) return this.failed('ERR_PROXY_PROTOCOL', `answered CONNECT with version ${this.pending[0]}`);
    const rep = this.pending[1]!;
    if (rep !== 0) {
      const text = SOCKS5_REPLIES[rep] ?? 'unassigned reply code';
      return this.failed('ERR_PROXY_SOCKS_FAILURE', `failed ${this.describe}: ${text} (reply ${rep})`, rep);
    }
    if (this.pending.length < 5) return { kind: 'more' };
    const type = this.pending[3];
    const addressLength = type === Socks5AddressType.IPv4 ? 4 : type === Socks5AddressType.IPv6 ? 16 : type === Socks5AddressType.DomainName ? 1 + this.pending[4]! : -1;
    if (addressLength < 0) return this.failed('ERR_PROXY_PROTOCOL', `answered CONNECT with address type ${type}`);
    const reply = this.take(4 + addressLength + 2);
    if (reply === null) return { kind: 'more' };
    this.state = 'done';
    return { kind: 'open', rest: this.pending };
  }

  private failed(code: ProxyErrorCode, text: string, socksReply?: number): TunnelStep {
    this.state = 'done';
    const options = socksReply !== undefined ? { socksReply } : undefined;
    return { kind: 'failed', error: new ProxyError(code, this.proxy.display, `Proxy ${this.proxy.display} ${text}`, options) };
  }
}

/** RFC 1929 2: VER 1, ULEN, UNAME, PLEN, PASSWD (each at most 255 bytes). */
export function encodeCredentials(username: string, password: string): Buffer {
  const user = Buffer.from(username, 'utf8');
  const pass = Buffer.from(password, 'utf8');
  if (user.length > 255 || pass.length > 255) throw new RangeError('SOCKS5 username and password are limited to 255 bytes each');
  return Buffer.concat([Buffer.from([AUTH_VERSION, user.length]), user, Buffer.from([pass.length]), pass]);
}

/** RFC 1928 4: VER 5, CMD CONNECT, RSV 0, ATYP, DST.ADDR, DST.PORT. */
export function encodeConnectRequest(host: string, port: number): Buffer {
  const head = [VERSION, CMD_CONNECT, 0x00];
  const portBytes = [port >> 8, port & 0xff];
  const family = isIP(host);
  if (family === 4) return Buffer.from([...head, Socks5AddressType.IPv4, ...host.split('.').map(Number), ...portBytes]);
  if (family === 6) return Buffer.from([...head, Socks5AddressType.IPv6, ...ipv6Bytes(host), ...portBytes]);
  const name = Buffer.from(host, 'utf8');
  if (name.length > 255) throw new RangeError('SOCKS5 host names are limited to 255 bytes');
  return Buffer.concat([Buffer.from([...head, Socks5AddressType.DomainName, name.length]), name, Buffer.from(portBytes)]);
}

/** The 16 bytes of a valid IPv6 address (`::` and an embedded IPv4 tail included). */
export function ipv6Bytes(address: string): number[] {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = groups(left);
  const tail = groups(right);
  const words = right === undefined ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}
