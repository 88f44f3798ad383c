/**
 * A raw HTTP/2 client for WebSockets over HTTP/2 (RFC 8441): a node:http2
 * session, Extended CONNECT streams opened with hand-set pseudo-headers, and
 * a RawClient (test/support/raw-socket.ts) over an accepted stream, so tests
 * send hand-made WebSocket frames and read the server's byte for byte, as
 * they do over TCP. A stream reset by the server (RST_STREAM with an error
 * code) counts as the socket error a TCP reset would be.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { RawClient } from './raw-socket.js';

/** A session to 127.0.0.1:port (h2c with prior knowledge, or h2 over TLS with `tls`), once the server's SETTINGS arrived. */
export async function connectH2(
  port: number,
  tls?: { ca: string | Buffer; servername?: string },
  settings: http2.Settings = {},
): Promise<ClientHttp2Session> {
  const authority = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
  const session = http2.connect(authority, {
    settings,
    ...(tls ? { ca: tls.ca, servername: tls.servername ?? 'localhost', ALPNProtocols: ['h2'] } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => {
      session.off('error', reject);
      resolve();
    });
    session.once('error', reject);
  });
  // A test that fails midway must not crash on the session's later errors.
  session.on('error', () => {});
  return session;
}

/** The request fields of RFC 8441 5's example, for 127.0.0.1:port; null removes a field. */
export function extendedConnectHeaders(session: ClientHttp2Session, path = '/', extra: Record<string, string | null> = {}): OutgoingHttpHeaders {
  const secure = session.encrypted === true;
  const headers: Record<string, string> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': secure ? 'https' : 'http',
    ':path': path,
    ':authority': (session.socket as Socket).remotePort !== undefined ? `localhost:${(session.socket as Socket).remotePort}` : 'localhost',
    'sec-websocket-version': '13',
  };
  for (const [name, value] of Object.entries(extra)) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return headers;
}

export interface H2Response {
  stream: ClientHttp2Stream;
  status: number;
  headers: IncomingHttpHeaders;
}

/** Opens a stream with `headers` and waits for the response's HEADERS (or the stream's end without one). */
export function requestH2(session: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: false });
    stream.once('response', (h) => {
      stream.off('close', onClose);
      resolve({ stream, status: Number(h[':status']), headers: h });
    });
    const onClose = () => reject(new Error(`stream closed without a response (RST_STREAM code ${stream.rstCode})`));
    stream.once('close', onClose);
    stream.on('error', () => {});
  });
}

/** Reads a refused stream's body (a plain-text reason). */
export async function readBody(stream: ClientHttp2Stream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** RawClient over an accepted Extended CONNECT stream; destroy() also closes its session. */
export class RawH2Client extends RawClient {
  constructor(
    readonly stream: ClientHttp2Stream,
    readonly session: ClientHttp2Session | null,
    readonly responseHeaders: IncomingHttpHeaders,
  ) {
    super(stream as unknown as Socket);
    stream.on('close', () => {
      if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        this.error ??= Object.assign(new Error(`RST_STREAM with error code ${stream.rstCode}`), { rstCode: stream.rstCode });
      }
    });
  }

  /** Abortive close: RST_STREAM with CANCEL (RFC 8441 5's counterpart of a TCP reset). */
  override reset(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  override async destroy(): Promise<void> {
    // node:http2 can abort on a native assertion when a stream is reset in the
    // tick its data arrived (nodejs/node#38964); a turn of the loop first avoids it.
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    await this.waitForClose();
    if (this.session !== null && !this.session.destroyed) {
      await new Promise<void>((resolve) => {
        this.session!.close(resolve);
        setTimeout(() => this.session!.destroy(), 2_000).unref();
      });
    }
  }
}

/**
 * A session and one accepted WebSocket stream on it (asserts :status 200,
 * else closes everything and throws), as handshakeRaw is over TCP.
 */
export async function handshakeH2(port: number, path = '/', extra: Record<string, string | null> = {}): Promise<RawH2Client> {
  const session = await connectH2(port);
  try {
    const response = await requestH2(session, extendedConnectHeaders(session, path, extra));
    if (response.status !== 200) throw new Error(`expected :status 200, got ${response.status}: ${await readBody(response.stream)}`);
    return new RawH2Client(response.stream, session, response.headers);
  } catch (err) {
    session.destroy();
    throw err;
  }
}
