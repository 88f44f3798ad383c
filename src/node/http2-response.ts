/**
 * The server's answer to our Extended CONNECT (RFC 8441), shaped like the
 * http.IncomingMessage that ws's 'upgrade' and 'unexpected-response' events
 * carry over HTTP/1.1, so listeners written for ws read it the same way:
 * statusCode, statusMessage, httpVersion '2.0', headers (lower-cased, as
 * HTTP/2 sends them, RFC 9113 8.2.1; without the pseudo-header fields) and
 * rawHeaders. For a refusal it is readable: the response's body, read from
 * the stream with its flow control (pausing it pauses the stream).
 *
 * Owns: the copy of the fields and the body's flow. Must not touch: what the
 * handshake does with the answer (http2-client.ts decides).
 */
import { Readable } from 'node:stream';
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';

export class Http2Response extends Readable {
  readonly statusCode: number;
  /** HTTP/2 has no reason phrase (RFC 9113 8.3.2). */
  readonly statusMessage = '';
  readonly httpVersion = '2.0';
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  readonly headers: IncomingHttpHeaders = {};
  /** Names and values in arrival order, [name, value, name, value...], pseudo-header fields left out. */
  readonly rawHeaders: string[] = [];
  readonly trailers: IncomingHttpHeaders = {};
  readonly rawTrailers: string[] = [];
  /** True once the whole body arrived (END_STREAM). */
  complete = false;
  private readonly body: ClientHttp2Stream | null;

  /** `body`: the stream whose DATA is the response's body; null for an answer without one (the 200 of an accepted WebSocket). */
  constructor(fields: IncomingHttpHeaders, body: ClientHttp2Stream | null) {
    super();
    this.statusCode = Number(fields[':status']);
    for (const [name, value] of Object.entries(fields)) {
      if (name.startsWith(':') || value === undefined) continue;
      this.headers[name] = value;
      for (const one of Array.isArray(value) ? value : [value]) this.rawHeaders.push(name, String(one));
    }
    this.body = body;
    if (body === null) {
      this.complete = true;
      this.push(null);
      return;
    }
    body.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) body.pause();
    });
    body.once('end', () => {
      this.complete = true;
      this.push(null);
    });
    body.once('close', () => {
      if (this.complete) return;
      // Reset before the body ended, as IncomingMessage's 'aborted'.
      this.emit('aborted');
      this.destroy();
    });
  }

  override _read(): void {
    this.body?.resume();
  }
}
