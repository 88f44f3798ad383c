/**
 * ws internals that popular packages call, mapped onto our own machinery.
 * They are not ws's documented API, but code in the wild depends on them
 * (README, "Ecosystem"):
 *
 * - `WebSocket.Sender.frame(data, options)`: a frame encoded once, as ws
 *   shapes it (a list of Buffers). socket.io-adapter pre-encodes every
 *   broadcast with it when the `ws` it requires has it.
 * - `ws._sender.sendFrame(list, cb)`: write such a list on one connection.
 *   engine.io's websocket transport does, for every socket of a broadcast,
 *   when its own perMessageDeflate is off. A list becomes a PreparedMessage
 *   once (remembered while the list lives), so every server connection
 *   writes the very same bytes through Connection.sendPrepared: in order
 *   with its other sends, refused after Close as send() is. Lists built by
 *   ws itself (socket.io-adapter keeps its own ws unless `ws` resolves to
 *   hyperws) are read the same way.
 * - `ws.setSocket(stream, head, options)` and `ws._isServer`: open a
 *   WebSocket created with `null` over a stream whose handshake happened
 *   elsewhere. @fastify/websocket's `injectWS()` test helper makes its
 *   client that way, after `ws._isServer = false`.
 *
 * Owns: that translation only. The facade (websocket.ts) forwards these
 * members here and holds nothing for them; the only state kept here is a
 * role set through `_isServer` before setSocket, for those that set one.
 */
import type { Duplex } from 'node:stream';
import { PreparedMessage, encodeFrame, randomMaskKey, resolveSettings } from '../protocol/index.js';
import { toBuffer } from './binary-data.js';
import { ReadyState } from './ready-state.js';
import { driverOf, openWebSocket, type WebSocket } from './websocket.js';

/** ws's `Sender.frame()` options. */
export interface FrameOptions {
  /** 1 text, 2 binary (0-15 are encoded as given). */
  opcode: number;
  /** Last frame of the message. As in ws, leaving it out makes a fragment. */
  fin?: boolean;
  rsv1?: boolean;
  /** Mask the payload (client frames). */
  mask?: boolean;
  /** With `mask`: the 4 bytes the key is written to, as in ws (default: a fresh key each frame). */
  maskBuffer?: Buffer;
  /** With `mask`: fills the key (ws's option; default: random bytes from node:crypto). */
  generateMask?: (mask: Buffer) => void;
  /** ws: whether `data` may be modified in place. Ours never is. */
  readOnly?: boolean;
}

/** ws's `setSocket()` options (the ones that mean something here). */
export interface SetSocketOptions {
  /** Largest message accepted (0: no limit). Default: DEFAULTS.maxPayload. */
  maxPayload?: number;
  skipUTF8Validation?: boolean;
}

/** The write callback of sendFrame(), as engine.io passes it. */
type SendFrameCallback = (error?: Error | null) => void;

/** Frame lists already read: each list is turned into a prepared message once, however many sockets it goes to. */
const preparedLists = new WeakMap<object, PreparedMessage>();
/** Roles set with `ws._isServer = ...` before setSocket(). */
const roles = new WeakMap<WebSocket, boolean>();

/**
 * `WebSocket.Sender`: what ws-based packages reach for, and what
 * `ws._sender` returns for an open connection.
 */
export class Sender {
  /**
   * Encode one frame: a list holding one Buffer (header and payload). Pass
   * it to `ws._sender.sendFrame()` of as many server connections as you like:
   * they all write these bytes.
   */
  static frame(data: string | Buffer | ArrayBuffer | ArrayBufferView, options: FrameOptions): Buffer[] {
    const opcode = options.opcode;
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 15) throw new TypeError(`Invalid opcode: ${String(opcode)}`);
    const payload = toBuffer(data);
    return [encodeFrame(opcode, payload, { fin: !!options.fin, rsv1: !!options.rsv1, maskKey: options.mask ? maskKeyOf(options) : null })];
  }

  /** What `ws._sender` returns (made on each access: a connection keeps nothing for it). */
  constructor(private readonly ws: WebSocket) {}

  /**
   * Write a frame list from `Sender.frame()` (ours or ws's). On an open
   * server connection the list's bytes are written as they are, in order
   * with the connection's other frames; a client, whose frames each need a
   * fresh mask, and a connection that is not open take the path of send().
   */
  sendFrame(list: readonly Uint8Array[], cb?: SendFrameCallback): void {
    const message = preparedOf(list);
    const ws = this.ws;
    const driver = driverOf(ws);
    if (driver === null || ws.readyState !== ReadyState.OPEN || driver.connection.settings.role !== 'server') {
      ws.send(message.data, { binary: message.binary }, cb);
      return;
    }
    // maxBackpressure as for any send; a broadcast is not interrupted by one socket ('error' fails only its callback).
    if (!driver.admits(cb, true)) return;
    if (!driver.connection.sendPrepared(message, cb)) {
      throw new Error('sendFrame() cannot send a whole message while a fragmented one (send with fin: false) is unfinished');
    }
  }
}

/** The masking key of a masked `Sender.frame()`, where ws takes it from: `maskBuffer`, filled by `generateMask` or at random. */
function maskKeyOf(options: FrameOptions): Uint8Array {
  if (options.generateMask !== undefined) {
    const key = options.maskBuffer ?? Buffer.alloc(4);
    options.generateMask(key);
    return key;
  }
  if (options.maskBuffer === undefined) return randomMaskKey();
  options.maskBuffer.set(randomMaskKey());
  return options.maskBuffer;
}

/** The prepared message of a frame list, read once per list. */
function preparedOf(list: readonly Uint8Array[]): PreparedMessage {
  let message = preparedLists.get(list);
  if (message === undefined) {
    if (!Array.isArray(list) || list.length === 0 || !list.every((part) => part instanceof Uint8Array)) {
      throw new TypeError('sendFrame() takes the list of Buffers that Sender.frame() returns');
    }
    message = PreparedMessage.fromFrame(list.length === 1 ? toBuffer(list[0]) : Buffer.concat(list));
    preparedLists.set(list, message);
  }
  return message;
}

/** `ws._sender`: null until the connection is open, as in ws. */
export function senderOf(ws: WebSocket): Sender | null {
  return driverOf(ws) === null ? null : new Sender(ws);
}

/** `ws._isServer`: the connection's role once open; before, what was set, else whether it was created with `null`. */
export function isServer(ws: WebSocket): boolean {
  const driver = driverOf(ws);
  if (driver !== null) return driver.connection.settings.role === 'server';
  return roles.get(ws) ?? ws.url === '';
}

/** `ws._isServer = value`: the role setSocket() will open with. Ignored once open. */
export function setIsServer(ws: WebSocket, value: boolean): void {
  if (driverOf(ws) === null) roles.set(ws, !!value);
}

/**
 * `ws.setSocket(stream, head, options)`: open a WebSocket created with
 * `null` over `stream`, whose opening handshake was done elsewhere, as a
 * server connection (or a client one after `_isServer = false`); no
 * subprotocol or extension. Emits 'open', as ws does.
 */
export function openOnStream(ws: WebSocket, stream: Duplex, head: Buffer, options: SetSocketOptions = {}): void {
  if (driverOf(ws) !== null) throw new Error('setSocket(): the WebSocket is already open');
  if (ws.url !== '') throw new Error('setSocket(): only a WebSocket created with null (no URL) can be given a socket');
  const server = roles.get(ws) ?? true;
  roles.delete(ws);
  const settings = resolveSettings({
    role: server ? 'server' : 'client',
    maxPayload: options.maxPayload,
    skipUTF8Validation: options.skipUTF8Validation,
  });
  openWebSocket(ws, { stream, head: head ?? Buffer.alloc(0), settings, protocol: '', extension: null });
  ws.emit('open');
}
