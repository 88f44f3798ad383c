/**
 * HTTP CONNECT (RFC 9110 9.3.6) as a sans-I/O handshake: the request, with
 * Basic credentials (RFC 7617) when the proxy URL has them, then the proxy's
 * response head, read up to a bound. A 2xx opens the tunnel; 407 (and 401,
 * which some proxies send for wrong credentials) fails as "authentication
 * required"; any other status as refused, with the status and reason. The response body of a
 * refusal is never read: the connection is dropped.
 */
import { ProxyError } from './proxy-error.js';
import type { ProxyEndpoint } from './proxy-url.js';
import { authority, type TunnelHandshake, type TunnelStep } from './tunnel-handshake.js';

/** Largest proxy response head accepted (its status line and headers). */
export const MAX_CONNECT_RESPONSE_HEAD = 16 * 1024;

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?$/;

export class HttpConnectHandshake implements TunnelHandshake {
  readonly describe: string;
  private readonly target: string;
  private head: Buffer = Buffer.alloc(0);

  constructor(
    private readonly proxy: ProxyEndpoint,
    host: string,
    port: number,
  ) {
    this.target = authority(host, port);
    this.describe = `CONNECT to ${this.target}`;
  }

  start(): Buffer {
    const lines = [`CONNECT ${this.target} HTTP/1.1`, `Host: ${this.target}`];
    if (this.proxy.username !== '' || this.proxy.password !== '') {
      const token = Buffer.from(`${this.proxy.username}:${this.proxy.password}`, 'utf8').toString('base64');
      lines.push(`Proxy-Authorization: Basic ${token}`);
    }
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  }

  receive(chunk: Buffer): TunnelStep {
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    const end = this.head.indexOf('\r\n\r\n', 0, 'latin1');
    if (end === -1) {
      if (this.head.length > MAX_CONNECT_RESPONSE_HEAD) return this.failed('ERR_PROXY_PROTOCOL', `answered ${this.describe} with a head over ${MAX_CONNECT_RESPONSE_HEAD} bytes`);
      return { kind: 'more' };
    }
    if (end > MAX_CONNECT_RESPONSE_HEAD) return this.failed('ERR_PROXY_PROTOCOL', `answered ${this.describe} with a head over ${MAX_CONNECT_RESPONSE_HEAD} bytes`);
    const statusLine = this.head.toString('latin1', 0, this.head.indexOf('\r\n', 0, 'latin1'));
    const match = STATUS_LINE.exec(statusLine);
    if (match === null) return this.failed('ERR_PROXY_PROTOCOL', `answered ${this.describe} with an invalid status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(match[1]);
    const reason = match[2] ?? '';
    const said = `${status}${reason !== '' ? ` ${reason}` : ''}`;
    if (status >= 200 && status < 300) return { kind: 'open', rest: this.head.subarray(end + 4) };
    // 407 is the RFC's; tinyproxy answers rejected credentials with 401.
    if (status === 407 || status === 401) {
      const hint = this.proxy.username !== '' || this.proxy.password !== '' ? 'the credentials were rejected' : 'give user:pass in the proxy URL';
      return this.failed('ERR_PROXY_AUTH_REQUIRED', `requires authentication (${said}): ${hint}`, status);
    }
    return this.failed('ERR_PROXY_REFUSED', `refused ${this.describe}: ${said}`, status);
  }

  private failed(code: ProxyError['code'], text: string, statusCode?: number): TunnelStep {
    const options = statusCode !== undefined ? { statusCode } : undefined;
    return { kind: 'failed', error: new ProxyError(code, this.proxy.display, `Proxy ${this.proxy.display} ${text}`, options) };
  }
}
