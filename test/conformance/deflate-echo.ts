// The 12.x / 13.x echo exchange shared by the client and server
// permessage-deflate conformance tests: one end sends ECHO_PER_SIZE messages
// of each of ECHO_SIZES, the other echoes them, every echo is checked in
// order, and the sender's socket byte counts show whether the traffic was
// compressed both ways.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Inbox, MessageArgs } from '../interop/helpers.js';
import { compressible } from '../extensions/permessage-deflate/helpers.js';

export const ECHO_SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
export const ECHO_PER_SIZE = 10;

/** ws's perMessageDeflate options (the same names as ours). */
export type WsDeflate = { serverNoContextTakeover?: boolean; clientNoContextTakeover?: boolean; serverMaxWindowBits?: number; clientMaxWindowBits?: number };

/** The message body for one size and index: compressible but never identical. */
export const echoBody = (size: number, k: number): Buffer => compressible(size, size * 100 + k);

/** A ws or hyperws WebSocket (both keep their net.Socket in `_socket`). */
interface Sender {
  send(data: Buffer | string, options: { binary: boolean }): void;
}

export interface EchoTotals {
  /** Payload bytes sent (and so echoed). */
  payloadBytes: number;
  /** The sender's socket byte counts once the last echo arrived. */
  wire: { written: number; read: number };
}

/**
 * Sends ECHO_PER_SIZE messages of each size (text or binary) on `sender` and
 * checks each echo from `inbox` (the sender's 'message' events): type and
 * bytes, in order.
 */
export async function echoEverySize(sender: Sender, inbox: Inbox<MessageArgs>, binary: boolean): Promise<EchoTotals> {
  let payloadBytes = 0;
  for (const size of ECHO_SIZES) {
    for (let k = 0; k < ECHO_PER_SIZE; k++) {
      const data = echoBody(size, k);
      sender.send(binary ? data : data.toString('latin1'), { binary });
      payloadBytes += size;
    }
    for (let k = 0; k < ECHO_PER_SIZE; k++) {
      const [data, isBinary] = await inbox.next();
      assert.equal(isBinary, binary, `message type, ${size} bytes #${k}`);
      assert.ok(Buffer.from(data).equals(echoBody(size, k)), `echo of ${size} bytes #${k}`);
    }
  }
  const socket = (sender as unknown as { _socket: Socket })._socket;
  return { payloadBytes, wire: { written: socket.bytesWritten, read: socket.bytesRead } };
}

/** Compressible data: the sender wrote and read far fewer bytes than the payload. */
export function assertCompressedBothWays({ payloadBytes, wire }: EchoTotals): void {
  assert.ok(wire.written < payloadBytes / 4, `client wrote ${wire.written} bytes for ${payloadBytes}`);
  assert.ok(wire.read < payloadBytes / 4, `client read ${wire.read} bytes for ${payloadBytes}`);
}
