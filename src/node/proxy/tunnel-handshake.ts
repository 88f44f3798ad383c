/**
 * The shape shared by the proxy handshakes (HTTP CONNECT, SOCKS5): sans-I/O
 * state machines that say what to send and, fed the proxy's bytes, whether
 * the tunnel is open. tunnel.ts is the only place that touches a socket.
 */
import type { ProxyError } from './proxy-error.js';

export type TunnelStep =
  /** Not enough bytes yet: keep reading. */
  | { readonly kind: 'more' }
  /** Write `bytes` to the proxy, then keep reading. */
  | { readonly kind: 'send'; readonly bytes: Buffer }
  /** The tunnel is open; `rest` arrived after the proxy's answer and belongs to the target. */
  | { readonly kind: 'open'; readonly rest: Buffer }
  | { readonly kind: 'failed'; readonly error: ProxyError };

export interface TunnelHandshake {
  /** The first bytes to send once connected to the proxy. */
  start(): Buffer;
  /** Feed bytes received from the proxy (after 'open' or 'failed', never called again). */
  receive(chunk: Buffer): TunnelStep;
  /** What the handshake was doing, for errors ("CONNECT to example.com:443"). */
  readonly describe: string;
}

/** `host:port`, with an IPv6 address in brackets. */
export function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
