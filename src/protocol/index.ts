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
export {
  Connection,
  ConnectionState,
  checkControlPayload,
  DEFAULT_MAX_PAYLOAD,
  type ConnectionHandler,
  type ConnectionOptions,
  type ConnectionOutput,
  type Role,
  type SendOptions,
  type WriteCallback,
} from './connection.js';
