/**
 * Conversions between what users pass to send() / receive from 'message' and
 * Buffers: ws accepts strings, Buffers, ArrayBuffers, typed arrays and
 * DataViews, and delivers per binaryType.
 */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
export const BINARY_TYPES: readonly BinaryType[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

export type MessageData = Buffer | ArrayBuffer | Buffer[] | Blob;
/**
 * A 'message' event's data as ws's types name it (`WebSocket.RawData`). As in
 * @types/ws it leaves out the Blob that binaryType 'blob' delivers, so code
 * written against those types (assigning RawData to Data, say) compiles.
 */
export type RawData = Buffer | ArrayBuffer | Buffer[];

/** A Buffer view over `data` without copying; strings become UTF-8 bytes. */
export function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) {
    return Buffer.from(data as ArrayBuffer);
  }
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data));
}

/** Byte length of data as it will be sent (for bufferedAmount accounting). */
export function byteLengthOf(data: unknown): number {
  if (data instanceof Blob) return data.size;
  return typeof data === 'string' ? Buffer.byteLength(data) : toBuffer(data).length;
}

/** An ArrayBuffer holding exactly `buf`'s bytes (copied unless it already is one). */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  const out = new ArrayBuffer(buf.byteLength);
  new Uint8Array(out).set(buf);
  return out;
}

/** Shape an incoming message for the current binaryType. */
export function formatMessage(data: Buffer | Buffer[], binaryType: BinaryType): MessageData {
  if (binaryType === 'fragments') return Array.isArray(data) ? data : [data];
  const buf = Array.isArray(data) ? (data.length === 1 ? data[0]! : Buffer.concat(data)) : data;
  if (binaryType === 'blob') return new Blob([buf]);
  return binaryType === 'arraybuffer' ? toArrayBuffer(buf) : buf;
}
