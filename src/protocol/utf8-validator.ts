/**
 * Incremental UTF-8 validation (RFC 3629, as RFC 6455 section 8.1 requires)
 * for text messages that arrive in pieces. It fails as soon as a piece holds
 * an invalid byte, not at the end of the message: the middle of each piece is
 * checked with Node's native `isUtf8`, and only the few bytes of a sequence
 * split across pieces go through the byte-wise state machine below.
 */
import { isUtf8 } from 'node:buffer';

const SMALL = 16;

export class Utf8Validator {
  /** Continuation bytes still expected by the current sequence. */
  private need = 0;
  /** Allowed range of the next continuation byte (narrowed after E0/ED/F0/F4). */
  private lo = 0x80;
  private hi = 0xbf;

  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
  }

  /** Is everything fed so far a valid prefix of UTF-8? */
  feed(buf: Uint8Array): boolean {
    const n = buf.length;
    let i = 0;
    while (this.need > 0 && i < n) {
      if (!this.step(buf[i]!)) return false;
      i++;
    }
    if (n - i < SMALL) {
      for (; i < n; i++) if (!this.step(buf[i]!)) return false;
      return true;
    }
    // Find where the last, possibly incomplete, sequence starts: the middle
    // [i, end) must then be complete UTF-8 on its own.
    let end = n;
    let k = n - 1;
    const limit = Math.max(i, n - 4);
    while (k >= limit && (buf[k]! & 0xc0) === 0x80) k--;
    if (k >= limit) {
      const b = buf[k]!;
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (k + len > n) end = k;
    }
    if (end > i && !isUtf8(buf.subarray(i, end))) return false;
    for (let j = end; j < n; j++) if (!this.step(buf[j]!)) return false;
    return true;
  }

  /** Does the input end on a sequence boundary? A truncated sequence is invalid. */
  isComplete(): boolean {
    return this.need === 0;
  }

  private step(b: number): boolean {
    if (this.need === 0) {
      if (b < 0x80) return true;
      if (b >= 0xc2 && b <= 0xdf) this.need = 1;
      else if (b === 0xe0) (this.need = 2), (this.lo = 0xa0);
      else if (b === 0xed) (this.need = 2), (this.hi = 0x9f); // no UTF-16 surrogates
      else if (b >= 0xe1 && b <= 0xef) this.need = 2;
      else if (b === 0xf0) (this.need = 3), (this.lo = 0x90);
      else if (b === 0xf4) (this.need = 3), (this.hi = 0x8f); // nothing above U+10FFFF
      else if (b >= 0xf1 && b <= 0xf3) this.need = 3;
      else return false;
      return true;
    }
    if (b < this.lo || b > this.hi) return false;
    this.lo = 0x80;
    this.hi = 0xbf;
    this.need--;
    return true;
  }
}

/** Whole-buffer validation, for payloads that arrived in one piece. */
export function isValidUtf8(buf: Uint8Array): boolean {
  return isUtf8(buf);
}
