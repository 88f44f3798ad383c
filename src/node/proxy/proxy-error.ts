/**
 * The one error type a proxy tunnel fails with. `code` is stable (users
 * branch on it); `proxy` names the proxy without its credentials. Owns no
 * I/O: the handshakes (http-connect.ts, socks5.ts) and the tunnel build them.
 */
export type ProxyErrorCode =
  /** The proxy could not be reached (refused, unresolvable, reset before answering). */
  | 'ERR_PROXY_UNREACHABLE'
  /** The HTTP proxy answered CONNECT with a non-2xx status other than 407. */
  | 'ERR_PROXY_REFUSED'
  /** 407 from an HTTP proxy, or a SOCKS5 proxy that wants credentials we lack or rejected them. */
  | 'ERR_PROXY_AUTH_REQUIRED'
  /** A SOCKS5 proxy answered CONNECT with a failure reply (`socksReply`). */
  | 'ERR_PROXY_SOCKS_FAILURE'
  /** The proxy's answer broke its protocol, or it closed the connection mid-handshake. */
  | 'ERR_PROXY_PROTOCOL'
  /** The tunnel was not up within the client's handshakeTimeout. */
  | 'ERR_PROXY_TIMEOUT';

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  /** HTTP status of a refused CONNECT (407 included). */
  statusCode?: number;
  /** SOCKS5 reply code (RFC 1928 6) of a failed CONNECT. */
  socksReply?: number;
  constructor(
    readonly code: ProxyErrorCode,
    /** The proxy, as `scheme://host:port` (never the credentials). */
    readonly proxy: string,
    message: string,
    options?: { cause?: unknown; statusCode?: number; socksReply?: number },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    if (options?.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options?.socksReply !== undefined) this.socksReply = options.socksReply;
  }
}
