/**
 * A raw HTTP/2 server for WebSockets over HTTP/2 (RFC 8441), the counterpart
 * of startRawServer (test/support/raw-socket.ts): a node:http2 cleartext
 * server (h2c with prior knowledge) whose SETTINGS enable Extended CONNECT
 * (RFC 8441 3), handing each Extended CONNECT stream to the test as a RawPeer.
 * The test answers it (`acceptUpgrade()`: `:status 200`, RFC 8441 5; or
 * `respond()`: a refusal) and then writes hand-made unmasked frames on the
 * stream and reads the client's byte for byte, as over TCP.
 *
 * Mapping of the TCP notions (RFC 8441 5): `end()` sends END_STREAM (the FIN),
 * `reset()` RST_STREAM with CANCEL (the TCP reset); `ended` means the client's
 * END_STREAM (or the stream's close) arrived, and a RST_STREAM from the client
 * with an error code becomes `error`, as ECONNRESET would.
 */
import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { RawPeer, listenOnLoopback, settleAll, type HeaderOverrides, type RawServer } from './raw-socket.js';

/** RawPeer over an Extended CONNECT stream. `request` is filled from the request's fields at once. */
export class RawH2Peer extends RawPeer {
  /** The request's pseudo-header fields (:method, :protocol, :scheme, :path, :authority). */
  readonly pseudo: Record<string, string>;

  constructor(
    readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
  ) {
    super(stream as unknown as Socket);
    const pseudo: Record<string, string> = {};
    const regular: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(', ') : String(value);
      if (name.startsWith(':')) pseudo[name] = text;
      else regular[name] = text;
    }
    this.pseudo = pseudo;
    this.request = { method: pseudo[':method'] ?? '', path: pseudo[':path'] ?? '', httpVersion: '2.0', headers: regular, raw: '' };
    stream.on('close', () => {
      if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !this.ended) {
        this.error ??= Object.assign(new Error(`RST_STREAM with error code ${stream.rstCode}`), { rstCode: stream.rstCode });
      }
    });
  }

  /** The HEADERS arrived with the stream: nothing to read. */
  override async readHttpHead(): Promise<NonNullable<RawPeer['request']>> {
    return this.request!;
  }

  /**
   * `:status 200` and `extraHeaders` (names lower-cased; null values left
   * out). No Upgrade, Connection or Sec-WebSocket-Accept over HTTP/2 (RFC
   * 8441 5; connection-specific fields are malformed in HTTP/2, RFC 9113 8.2.2).
   */
  override async acceptUpgrade(extraHeaders: HeaderOverrides = {}): Promise<NonNullable<RawPeer['request']>> {
    this.stream.respond({ ':status': 200, ...fields(extraHeaders) }, { endStream: false });
    return this.request!;
  }

  /** A complete response (a refusal): HEADERS with `status`, then the body and END_STREAM. HTTP/2 has no reason phrase. */
  override async respond(status: number, _statusText: string, headers: HeaderOverrides = {}, body = ''): Promise<void> {
    const { connection: _connection, ...rest } = fields(headers);
    this.stream.respond({ ':status': status, 'content-length': String(Buffer.byteLength(body)), ...rest });
    await new Promise<void>((resolve) => this.stream.end(body, () => resolve()));
  }

  /** Abortive close: RST_STREAM with CANCEL (RFC 8441 5). */
  override reset(): void {
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  override async destroy(): Promise<void> {
    // node:http2 can abort on a native assertion when a stream is reset in the
    // tick its data arrived (nodejs/node#38964): a turn of the loop first.
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    await this.waitForClose();
  }
}

function fields(headers: HeaderOverrides): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== null) out[name.toLowerCase()] = value;
  return out;
}

export interface RawH2Server extends RawServer {
  /** Sessions opened by clients so far. */
  sessions: ServerHttp2Session[];
}

/**
 * A raw h2c server on 127.0.0.1, port 0: `onStream` gets each Extended
 * CONNECT stream as a RawH2Peer (other requests get 404). `url` is ws://...:
 * a client reaches it with `http2: true`.
 */
export async function startRawH2Server(onStream: (peer: RawH2Peer) => void | Promise<void>): Promise<RawH2Server> {
  const peers: RawH2Peer[] = [];
  const sessions: ServerHttp2Session[] = [];
  const errors: unknown[] = [];
  const running: Promise<void>[] = [];
  let shuttingDown = false;
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
      stream.respond({ ':status': 404 });
      stream.end();
      return;
    }
    const peer = new RawH2Peer(stream, headers);
    peers.push(peer);
    running.push(
      (async () => {
        try {
          await onStream(peer);
        } catch (err) {
          errors.push(err);
          if (!shuttingDown) process.stderr.write(`raw h2 server handler error: ${err instanceof Error ? err.stack : String(err)}\n`);
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        }
      })(),
    );
  });
  const port = await listenOnLoopback(server);
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    peers,
    sessions,
    errors,
    idle: () => settleAll(running),
    close: () =>
      (closing ??= (async () => {
        shuttingDown = true;
        const listening = new Promise<void>((res) => server.close(() => res()));
        await Promise.all(peers.map((p) => p.destroy()));
        for (const s of sessions) if (!s.destroyed) s.destroy();
        await listening;
      })()),
  };
}
