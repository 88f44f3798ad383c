/**
 * The Sec-WebSocket-Key / Sec-WebSocket-Accept pair (RFC 6455 1.3, 4.1 step 7,
 * 4.2.2 step 5.4). Owns the GUID, the accept digest, key generation and key
 * validation. Pure: no I/O, no knowledge of headers beyond these two values.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';

// One-shot hashing (Node >= 20.12): no Hash object (and native context
// awaiting garbage collection) per handshake.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** The magic string every WebSocket server appends to the client's key (RFC 6455 1.3). */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * The Sec-WebSocket-Accept value for a key. The key is hashed as the string the
 * client sent, not base64-decoded: the RFC defines it that way so a server never
 * needs to decode it.
 */
export function computeAccept(key: string): string {
  if (oneShotHash !== undefined) return oneShotHash('sha1', key + WS_GUID, 'base64');
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** A fresh nonce: 16 random bytes, base64 (RFC 6455 4.1 step 7: new for every connection). */
export function generateKey(): string {
  return randomBytes(16).toString('base64');
}

// 16 bytes encode to 22 significant base64 characters plus "==". The 22nd
// character carries only 2 bits of data; its 4 low bits are padding and must be
// zero in a canonical encoding, which leaves exactly A, Q, g and w. Accepting
// anything else would let two different strings denote the same 16 bytes.
const KEY_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * True if `key` is exactly the canonical base64 encoding of 16 bytes (RFC 6455
 * 4.2.1 item 5). No whitespace is tolerated: Node already strips the optional
 * whitespace around header values, so any left over is part of the value.
 */
export function isValidKey(key: string): boolean {
  // A valid key has exactly 24 characters: checking that first keeps the
  // pattern off a hostile header's kilobytes.
  return key.length === 24 && KEY_RE.test(key);
}
