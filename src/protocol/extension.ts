/**
 * How extensions plug into the core (RFC 6455 section 9). A negotiated
 * extension becomes a MessageTransform bound to one connection: it owns
 * RSV1 and rewrites whole messages on their way in and out. The core knows
 * nothing of what the transform does (permessage-deflate, RFC 7692, lives in
 * src/extensions); it only keeps messages in order while a transform runs,
 * which may complete synchronously or later.
 */
import type { ProtocolError } from './errors.js';

export type DecodeCallback = (error: ProtocolError | null, data?: Buffer) => void;
export type EncodeCallback = (error: Error | null, data?: Buffer) => void;

export interface MessageTransform {
  /** Registered extension name, e.g. 'permessage-deflate'. */
  readonly name: string;
  /**
   * Decode a received message whose first frame had RSV1 set. The result
   * must not exceed maxPayload bytes (0: no limit): stop early and fail with
   * close code 1009 rather than allocate more. Invalid data fails with 1007.
   * `done` is called exactly once.
   */
  decode(payload: Buffer[], maxPayload: number, done: DecodeCallback): void;
  /** Should an outgoing message of this size be encoded (RSV1 set)? */
  shouldEncode(byteLength: number): boolean;
  /**
   * Encode one outgoing frame's payload. `fin` false means more fragments of
   * the same message follow. `done` is called exactly once.
   */
  encode(payload: Buffer, fin: boolean, done: EncodeCallback): void;
  /** The connection is gone: release every resource now. */
  dispose(): void;
  /**
   * Present when this transform's output depends only on the payload and on
   * `key`: one encoding then serves every connection with the same key (a
   * publish to many subscribers compresses once). Absent with context takeover.
   */
  readonly sharedEncoding?: SharedEncoding | undefined;
}

export interface SharedEncoding {
  readonly key: string;
  /** Encode a whole message synchronously (the payload of a frame with RSV1). */
  encode(payload: Buffer): Buffer;
}
