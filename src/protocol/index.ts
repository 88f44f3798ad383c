/** The sans-I/O WebSocket protocol core: no sockets, no timers. */
export { Opcode, isControlOpcode, isKnownOpcode } from './opcode.js';
export { CloseCode, MAX_CLOSE_REASON_BYTES, isValidWireCloseCode } from './close-code.js';
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export { applyMask, maskInto } from './mask.js';
export { randomMaskKey, type MaskKeySource } from './mask-key.js';
export { encodeFrame, encodeFrameParts, encodeStringFrame, headerSize, writeHeader, type FrameOptions } from './frame-encoder.js';
export { FrameParser, type FrameHeader, type FrameSink } from './frame-parser.js';
export { MessageBuffer } from './message-buffer.js';
export { Utf8Validator, isValidUtf8 } from './utf8-validator.js';
export { Connection, checkControlPayload, type ConnectionHandler, type ConnectionOutput } from './connection.js';
export { Lifecycle, Phase, Cause, type CloseFrame } from './lifecycle.js';
export { DEFAULTS, resolveSettings, type BackpressurePolicy, type ConnectionOptions, type ConnectionSettings, type Role } from './options.js';
export { Receiver, type ReceiverOwner } from './receiver.js';
export { Sender, PreparedMessage, type SendOptions } from './sender.js';
export { SendQueue, writeFrames, type FrameWriter, type WriteCallback } from './send-queue.js';
export type { MessageTransform, SharedEncoding, DecodeCallback, EncodeCallback } from './extension.js';
export { Counters } from './counters.js';
