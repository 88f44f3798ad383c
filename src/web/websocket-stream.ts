/**
 * WebSocketStream (the WHATWG WebSockets standard's stream API, as Chrome
 * ships it): `opened` gives a ReadableStream of messages and a
 * WritableStream of sends, `closed` the close code and reason, `close()`
 * closes. A facade over the Node WebSocket (src/node/websocket.ts), client
 * side (`new WebSocketStream(url)`) or server side
 * (`WebSocketStream.from(ws)` for an accepted connection).
 *
 * Backpressure both ways: the readable's queue is bounded in bytes
 * (readableHighWaterMark); when it is full the WebSocket is paused, so the
 * socket stops reading and TCP slows the sender; reading resumes it. A
 * write resolves once its message was handed to the OS, and the writable
 * holds at most writableHighWaterMark bytes meanwhile, so a writer that
 * awaits `writer.ready` never piles data into the socket's buffer.
 */
import { WebSocket as NodeWebSocket, type ClientOptions } from '../node/websocket.js';
import { ReadyState } from '../node/ready-state.js';

export interface WebSocketStreamOptions extends ClientOptions {
  /** Subprotocols to offer. */
  protocols?: string[];
  /** Aborts the opening handshake (no effect once open). */
  signal?: AbortSignal;
  /** Bytes of received messages the readable holds before the socket is paused (default 64 KiB). */
  readableHighWaterMark?: number;
  /** Bytes of sends the writable holds before `writer.ready` waits (default 64 KiB). */
  writableHighWaterMark?: number;
}

export interface WebSocketOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  protocol: string;
  extensions: string;
}

export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

export const DEFAULT_STREAM_HIGH_WATER_MARK = 64 * 1024;

/** The standard's WebSocketError: a DOMException with the close code and reason. */
export class WebSocketError extends DOMException {
  readonly closeCode: number | null;
  readonly reason: string;
  constructor(message = '', init: WebSocketCloseInfo = {}) {
    super(message, 'WebSocketError');
    this.closeCode = init.closeCode ?? null;
    this.reason = init.reason ?? '';
  }
}

const size = (chunk: string | ArrayBuffer | ArrayBufferView): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength);

function toPayload(chunk: unknown): string | Buffer {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk);
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('WebSocketStream writes take a string, an ArrayBuffer or an ArrayBufferView');
}

/** Set by WebSocketStream.from() for the constructor call it makes. */
let adopting: NodeWebSocket | null = null;

export class WebSocketStream {
  readonly url: string;
  readonly opened: Promise<WebSocketOpenInfo>;
  readonly closed: Promise<{ closeCode: number; reason: string }>;
  readonly #ws: NodeWebSocket | null;

  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    const { protocols, signal, readableHighWaterMark, writableHighWaterMark, ...clientOptions } = options;
    const adopted = adopting;
    adopting = null;
    if (adopted !== null) {
      this.url = adopted.url;
      this.#ws = adopted;
      [this.opened, this.closed] = attach(adopted, readableHighWaterMark, writableHighWaterMark);
      return;
    }
    if (signal?.aborted) {
      // As the standard: an aborted signal rejects both promises; nothing is connected.
      this.url = String(url);
      this.#ws = null;
      const reason = signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
      this.opened = Promise.reject(reason);
      this.closed = Promise.reject(reason);
      this.opened.catch(() => {});
      this.closed.catch(() => {});
      return;
    }
    const ws = new NodeWebSocket(url, protocols ?? [], clientOptions);
    this.url = ws.url;
    this.#ws = ws;
    const onAbort = (): void => {
      if (ws.readyState === ReadyState.CONNECTING) ws.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => signal?.removeEventListener('abort', onAbort));
    ws.once('close', () => signal?.removeEventListener('abort', onAbort));
    [this.opened, this.closed] = attach(ws, readableHighWaterMark, writableHighWaterMark);
  }

  /** A WebSocketStream over an accepted (open) server-side WebSocket. */
  static from(ws: NodeWebSocket, options: Pick<WebSocketStreamOptions, 'readableHighWaterMark' | 'writableHighWaterMark'> = {}): WebSocketStream {
    adopting = ws;
    return new WebSocketStream(ws.url, options);
  }

  /** Close with a code (1000 or 3000-4999) and a reason; 1000 when only a reason is given, else no code. */
  close(info: WebSocketCloseInfo = {}): void {
    const ws = this.#ws;
    const code = info.closeCode ?? (info.reason ? 1000 : undefined);
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) throw new DOMException(`Invalid close code ${code}`, 'InvalidAccessError');
    if (Buffer.byteLength(info.reason ?? '') > 123) throw new DOMException('The close reason is longer than 123 bytes', 'SyntaxError');
    if (ws === null || ws.readyState === ReadyState.CLOSING || ws.readyState === ReadyState.CLOSED) return;
    ws.close(code, info.reason);
  }
}

/** Wires a Node WebSocket to the streams; returns [opened, closed]. */
function attach(ws: NodeWebSocket, readableHwm = DEFAULT_STREAM_HIGH_WATER_MARK, writableHwm = DEFAULT_STREAM_HIGH_WATER_MARK) {
  let readController!: ReadableStreamDefaultController<string | Uint8Array>;
  let writeController: WritableStreamDefaultController | null = null;
  const readable = new ReadableStream<string | Uint8Array>(
    {
      start(controller) {
        readController = controller;
      },
      pull() {
        if (ws.isPaused) ws.resume();
      },
      cancel() {
        if (ws.readyState === ReadyState.OPEN) ws.close();
      },
    },
    { highWaterMark: readableHwm, size: (chunk) => size(chunk!) },
  );
  const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>(
    {
      start(controller) {
        writeController = controller;
      },
      write(chunk) {
        const payload = toPayload(chunk);
        return new Promise<void>((resolve, reject) => {
          if (ws.readyState !== ReadyState.OPEN) {
            reject(new WebSocketError('The WebSocket is not open'));
            return;
          }
          ws.send(payload, { binary: typeof payload !== 'string' }, (error?: Error) => (error ? reject(error) : resolve()));
        });
      },
      close() {
        if (ws.readyState === ReadyState.OPEN) ws.close();
      },
      abort() {
        if (ws.readyState === ReadyState.OPEN) ws.close();
      },
    },
    { highWaterMark: writableHwm, size: (chunk) => size(chunk!) },
  );

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) readController.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else readController.enqueue(data.toString());
    if ((readController.desiredSize ?? 0) <= 0) ws.pause();
  });
  // 'error' precedes 'close'; the close code says whether it was clean.
  ws.on('error', () => {});

  const opened = new Promise<WebSocketOpenInfo>((resolve, reject) => {
    const open = (): void => resolve({ readable, writable, protocol: ws.protocol, extensions: ws.extensions });
    if (ws.readyState === ReadyState.OPEN) open();
    else ws.once('open', open);
    ws.once('close', (code: number, reason: Buffer) => reject(new WebSocketError('The WebSocket could not be opened', { closeCode: code, reason: reason.toString() })));
  });
  const closed = new Promise<{ closeCode: number; reason: string }>((resolve, reject) => {
    ws.once('close', (code: number, reason: Buffer) => {
      const text = reason.toString();
      if (code === 1006) {
        const error = new WebSocketError('The WebSocket closed abnormally', { closeCode: 1006, reason: text });
        try {
          readController.error(error);
        } catch {}
        writeController?.error(error);
        reject(error);
        return;
      }
      try {
        readController.close();
      } catch {}
      writeController?.error(new WebSocketError('The WebSocket is closed', { closeCode: code, reason: text }));
      resolve({ closeCode: code, reason: text });
    });
  });
  opened.catch(() => {});
  closed.catch(() => {});
  return [opened, closed] as const;
}
