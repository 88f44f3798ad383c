/**
 * Close status codes (RFC 6455 section 7.4) and the rules for which ones may
 * travel on the wire. The pseudo-codes 1005/1006/1015 only ever exist locally.
 */
export const CloseCode = {
  NormalClosure: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatusReceived: 1005,
  AbnormalClosure: 1006,
  InvalidFramePayloadData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  TlsHandshake: 1015,
} as const;

/** The longest reason that fits a control frame: 125 - 2 bytes of code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * May `code` appear in a Close frame? 1000-1003 and 1007-1014 are defined or
 * registered with IANA (1012-1014 registered after the RFC); 3000-4999 belong
 * to libraries and applications. 1004, 1005, 1006, 1015 and the unassigned
 * rest of 1000-2999 are invalid on the wire.
 */
export function isValidWireCloseCode(code: number): boolean {
  // Integers only: 1000.5 passes the range checks but cannot go on the wire as written.
  return Number.isInteger(code) && (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}
