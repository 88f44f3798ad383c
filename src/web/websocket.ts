/**
 * The WHATWG `WebSocket` (https://websockets.spec.whatwg.org/): a real
 * EventTarget with the browser API, as a facade over the Node client
 * (src/node/websocket.ts), which does the handshake, framing and close
 * handshake. Dependencies point web -> node only.
 *
 * Owns what the standard adds on top of the protocol: argument conversion and
 * validation (DOMExceptions), the API's readyState (which changes only in the
 * tasks that fire open/close), bufferedAmount accounting, binaryType (Blob or
 * ArrayBuffer), keeping send()/close() in call order behind pending Blob
 * reads, and mapping the Node client's events to open/message/error/close.
 */
import { Buffer } from 'node:buffer';
import { toUSVString } from 'node:util';
import { WebSocket as NodeWebSocket, type ClientOptions } from '../node/websocket.js';
import { toArrayBuffer } from '../node/binary-data.js';
import { ReadyState } from '../node/ready-state.js';
import { isToken, parseWebSocketUrl } from '../handshake/index.js';
import { MAX_CLOSE_REASON_BYTES } from '../protocol/index.js';
import { CloseEvent } from './close-event.js';
import { getEventHandler, setEventHandler, type EventHandler } from './event-handler.js';

export type BinaryType = 'blob' | 'arraybuffer';

/**
 * Non-standard third constructor argument: options for the underlying Node
 * client (TLS `ca`/`rejectUnauthorized`, `headers`, `origin`,
 * `handshakeTimeout`, `maxPayload`...). Browsers have no such argument.
 */
export type WebSocketNodeOptions = ClientOptions;

const { CONNECTING, OPEN, CLOSING, CLOSED } = ReadyState;
const EMPTY = Buffer.alloc(0);

/** A send() or close() waiting behind a Blob that is still being read. */
type Pending =
  | { kind: 'data'; data: string | Buffer; binary: boolean; size: number }
  | { kind: 'blob'; bytes: Buffer | null; failed: boolean; size: number }
  | { kind: 'close'; code: number | undefined; reason: Buffer };

export interface WebSocket {
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
}

export class WebSocket extends EventTarget {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;

  readonly #url: string;
  readonly #origin: string;
  readonly #ws: NodeWebSocket;
  #readyState: ReadyState = CONNECTING;
  #binaryType: BinaryType = 'blob';
  #bufferedAmount = 0;
  /** Sends (and a close) queued behind a Blob read, in call order. Empty in the common case. */
  #pending: Pending[] = [];
  /** The connection was failed (handshake failure, protocol error): 'error' precedes 'close'. */
  #failed = false;

  constructor(url: string | URL, protocols: string | Iterable<string> = [], nodeOptions?: WebSocketNodeOptions) {
    super();
    if (arguments.length === 0) throw new TypeError('Failed to construct WebSocket: 1 argument required');
    const urlRecord = webSocketUrlRecord(url);
    const list = toProtocolList(protocols);
    const seen = new Set<string>();
    for (const protocol of list) {
      // Duplicates are compared case-insensitively, as web-platform-tests expect.
      const folded = protocol.toLowerCase();
      if (!isToken(protocol) || seen.has(folded)) {
        throw new DOMException(`The subprotocol '${protocol}' is invalid or duplicated`, 'SyntaxError');
      }
      seen.add(folded);
    }
    this.#url = urlRecord.href;
    this.#origin = urlRecord.origin;
    const ws = new NodeWebSocket(urlRecord.href, list, nodeOptions ?? {});
    this.#ws = ws;
    ws.on('open', () => this.#onOpen());
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('error', () => {
      this.#failed = true;
    });
    // The Node API's CloseEvent carries wasClean as the core's lifecycle defines it.
    ws.addEventListener('close', (event) => this.#onClose(event.code, event.reason, event.wasClean));
  }

  /** The URL, serialized (ws: or wss:, http(s) already mapped). */
  get url(): string {
    return this.#url;
  }

  get readyState(): ReadyState {
    // The peer's Close frame (or a failure) starts closing before our close task runs.
    if (this.#readyState === OPEN && this.#ws.readyState !== OPEN) return CLOSING;
    return this.#readyState;
  }

  /**
   * Bytes of application data passed to send() and not yet handed to the
   * network (no framing overhead). Data sent once closing started is never
   * transmitted: it keeps counting, so the value only grows after close.
   */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  get extensions(): string {
    return this.#readyState === CONNECTING ? '' : this.#ws.extensions;
  }

  get protocol(): string {
    return this.#readyState === CONNECTING ? '' : this.#ws.protocol;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    const type = `${value}`;
    // An enum attribute ignores values outside the enum (no exception).
    if (type === 'blob' || type === 'arraybuffer') this.#binaryType = type;
  }

  get onopen(): EventHandler {
    return getEventHandler(this, 'open');
  }
  set onopen(value: EventHandler) {
    setEventHandler(this, 'open', value);
  }
  get onmessage(): EventHandler<MessageEvent> {
    return getEventHandler(this, 'message');
  }
  set onmessage(value: EventHandler<MessageEvent>) {
    setEventHandler(this, 'message', value);
  }
  get onerror(): EventHandler {
    return getEventHandler(this, 'error');
  }
  set onerror(value: EventHandler) {
    setEventHandler(this, 'error', value);
  }
  get onclose(): EventHandler<CloseEvent> {
    return getEventHandler(this, 'close');
  }
  set onclose(value: EventHandler<CloseEvent>) {
    setEventHandler(this, 'close', value);
  }

  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required");
    if (this.#readyState === CONNECTING) throw new DOMException('Still in CONNECTING state', 'InvalidStateError');
    let item: Pending;
    if (data instanceof Blob) {
      item = { kind: 'blob', bytes: null, failed: false, size: data.size };
    } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      const bytes = data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (!(bytes.buffer instanceof ArrayBuffer)) throw new TypeError('A SharedArrayBuffer cannot be sent');
      item = { kind: 'data', data: bytes, binary: true, size: bytes.length };
    } else if (typeof data === 'object' && data !== null && isSharedArrayBuffer(data)) {
      throw new TypeError('A SharedArrayBuffer cannot be sent');
    } else {
      const text = toUSVString(`${data as unknown as string}`);
      item = { kind: 'data', data: text, binary: false, size: Buffer.byteLength(text) };
    }
    this.#bufferedAmount += item.size;
    // Once the closing handshake started, data is counted but never sent.
    if (this.readyState !== OPEN) return;
    if (item.kind === 'blob') {
      this.#pending.push(item);
      this.#readBlob(data as Blob, item);
      return;
    }
    if (this.#pending.length > 0) {
      // Behind a Blob read: snapshot the bytes, the caller may reuse its buffer.
      if (typeof item.data !== 'string') item.data = Buffer.from(item.data);
      this.#pending.push(item);
      return;
    }
    this.#transmit(item.data, item.binary, item.size);
  }

  close(code?: number, reason?: string): void {
    let closeCode: number | undefined;
    if (code !== undefined) {
      closeCode = clampToUnsignedShort(code);
      if (closeCode !== 1000 && (closeCode < 3000 || closeCode > 4999)) {
        throw new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${closeCode} is neither.`, 'InvalidAccessError');
      }
    }
    let reasonBytes = EMPTY;
    if (reason !== undefined) {
      reasonBytes = Buffer.from(toUSVString(`${reason}`));
      if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
        throw new DOMException(`The close reason must not be greater than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`, 'SyntaxError');
      }
    }
    const state = this.readyState;
    if (state === CLOSING || state === CLOSED) return;
    this.#readyState = CLOSING;
    if (state === CONNECTING) {
      // Fail the connection: the Node client aborts the handshake and reports error + close (1006).
      this.#ws.close();
      return;
    }
    // A reason needs a status code in the Close frame: 1000 when none was given.
    if (closeCode === undefined && reasonBytes.length > 0) closeCode = 1000;
    if (this.#pending.length > 0) {
      // close() does not discard earlier sends: the Close frame follows them.
      this.#pending.push({ kind: 'close', code: closeCode, reason: reasonBytes });
      return;
    }
    this.#ws.close(closeCode, reasonBytes);
  }

  get [Symbol.toStringTag](): string {
    return 'WebSocket';
  }

  // ------------------------------------------------------------ internals

  #transmit(data: string | Buffer, binary: boolean, size: number): void {
    this.#ws.send(data, { binary }, (error) => {
      // Handed to the network: no longer buffered. Data that never went out stays counted.
      if (!error) this.#bufferedAmount -= size;
    });
  }

  #readBlob(blob: Blob, item: Extract<Pending, { kind: 'blob' }>): void {
    blob.arrayBuffer().then(
      (buffer) => {
        item.bytes = Buffer.from(buffer);
        this.#flushPending();
      },
      () => {
        item.failed = true;
        this.#flushPending();
      },
    );
  }

  /** Send what is ready at the head of the queue, in order; stop at a Blob still being read. */
  #flushPending(): void {
    const queue = this.#pending;
    while (queue.length > 0) {
      const head = queue[0]!;
      if (head.kind === 'blob' && head.bytes === null && !head.failed) return;
      queue.shift();
      if (head.kind === 'close') {
        this.#ws.close(head.code, head.reason);
      } else if (head.kind === 'data') {
        this.#transmit(head.data, head.binary, head.size);
      } else if (head.failed) {
        // The Blob could not be read: its data cannot be sent, so the connection fails.
        queue.length = 0;
        this.#failed = true;
        this.#ws.terminate();
      } else {
        this.#transmit(head.bytes!, true, head.size);
      }
    }
  }

  #onOpen(): void {
    this.#readyState = OPEN;
    this.dispatchEvent(new Event('open'));
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    // Messages that arrive after close() was called are dropped, as the standard says.
    if (this.readyState !== OPEN) return;
    let payload: string | Blob | ArrayBuffer;
    if (!isBinary) payload = data.toString('utf8');
    else if (this.#binaryType === 'blob') payload = new Blob([data]);
    else payload = toArrayBuffer(data);
    this.dispatchEvent(new MessageEvent('message', { data: payload, origin: this.#origin }));
  }

  #onClose(code: number, reason: string, closeHandshakeDone: boolean): void {
    this.#pending.length = 0;
    // Clean means Close frames went both ways (the core's lifecycle says so)
    // and nothing failed on our side; otherwise the standard reports 1006,
    // whatever code we sent.
    const wasClean = closeHandshakeDone && !this.#failed;
    const event = new CloseEvent('close', {
      wasClean,
      code: wasClean ? code : 1006,
      reason: wasClean ? reason : '',
    });
    // Queue a task: close() while CONNECTING makes the Node client report synchronously.
    setImmediate(() => {
      this.#readyState = CLOSED;
      if (this.#failed) this.dispatchEvent(new Event('error'));
      this.dispatchEvent(event);
    });
  }
}

for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
for (const name of [
  'url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType',
  'onopen', 'onmessage', 'onerror', 'onclose', 'send', 'close',
]) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

/** The URL record, or the standard's SyntaxError DOMException (the rules are src/handshake's). */
function webSocketUrlRecord(url: unknown): URL {
  const parsed = parseWebSocketUrl(toUSVString(`${url as string}`), { refuseEmptyFragment: true });
  if (parsed.ok) return parsed.url;
  switch (parsed.problem) {
    case 'invalid':
      throw new DOMException(`Invalid URL: ${String(url)}`, 'SyntaxError');
    case 'scheme':
      throw new DOMException(`The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${parsed.scheme}' is not allowed.`, 'SyntaxError');
    case 'fragment':
    case 'empty-socket-path': // only with allowUnix, which the standard's URLs never ask for
      throw new DOMException('The URL contains a fragment identifier', 'SyntaxError');
  }
}

/** WebIDL (DOMString or sequence<DOMString>): an iterable object is a sequence, anything else a string. */
function toProtocolList(protocols: unknown): string[] {
  if ((typeof protocols === 'object' && protocols !== null) || typeof protocols === 'function') {
    const iterator = (protocols as { [Symbol.iterator]?: unknown })[Symbol.iterator];
    if (iterator !== undefined && iterator !== null) {
      if (typeof iterator !== 'function') throw new TypeError('The protocols argument is not iterable');
      return Array.from(protocols as Iterable<unknown>, (p) => `${p as string}`);
    }
  }
  return [`${protocols as string}`];
}

/** WebIDL [Clamp] unsigned short: clamp to 0..65535, round half to even, NaN is 0. */
function clampToUnsignedShort(value: unknown): number {
  let x = +(value as number);
  if (Number.isNaN(x)) return 0;
  x = Math.min(Math.max(x, 0), 65535);
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function isSharedArrayBuffer(value: object): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer;
}
