/**
 * Reassembles one message from payload pieces (RFC 6455 section 5.4).
 *
 * Memory grows with the message's bytes, not with its number of frames or
 * TCP packets: large pieces are kept as zero-copy views, but a piece that is
 * small (or a small part of a much larger input chunk) is copied into a tail
 * buffer. So a flood of 1-byte fragments or a 1-byte-per-packet trickle costs
 * about its payload plus one object per 64 KiB, and no tiny view can pin a
 * big input chunk in memory.
 */

/** Pieces at least this large (and most of their chunk) are kept as views. */
const VIEW_MIN = 4096;
const TAIL_MIN = 256;
const TAIL_MAX = 64 * 1024;

export class MessageBuffer {
  private chunks: Buffer[] = [];
  private tail: Buffer | null = null;
  private tailUsed = 0;
  /** Bytes appended so far. */
  length = 0;

  append(piece: Buffer): void {
    const n = piece.length;
    if (n === 0) return;
    this.length += n;
    if (n >= VIEW_MIN && n * 2 >= piece.buffer.byteLength) {
      this.sealTail();
      this.chunks.push(piece);
      return;
    }
    let offset = 0;
    while (offset < n) {
      if (this.tail === null || this.tailUsed === this.tail.length) {
        this.sealTail();
        // Grow geometrically so a long trickle makes O(log) early buffers then 64 KiB ones.
        const size = Math.min(TAIL_MAX, Math.max(TAIL_MIN, n - offset, this.length >>> 1));
        this.tail = Buffer.allocUnsafe(size);
        this.tailUsed = 0;
      }
      const take = Math.min(n - offset, this.tail.length - this.tailUsed);
      piece.copy(this.tail, this.tailUsed, offset, offset + take);
      this.tailUsed += take;
      offset += take;
    }
  }

  /** The message as a list of buffers (no copy), and reset. */
  takeChunks(): Buffer[] {
    this.sealTail();
    const chunks = this.chunks;
    this.chunks = [];
    this.length = 0;
    return chunks;
  }

  /** The message as one buffer (one copy at most), and reset. */
  take(): Buffer {
    const total = this.length;
    const chunks = this.takeChunks();
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks, total);
  }

  reset(): void {
    this.chunks = [];
    this.tail = null;
    this.tailUsed = 0;
    this.length = 0;
  }

  private sealTail(): void {
    if (this.tail !== null && this.tailUsed > 0) {
      this.chunks.push(this.tail.subarray(0, this.tailUsed));
      // Whatever room is left stays usable for the next small pieces.
      this.tail = this.tailUsed === this.tail.length ? null : this.tail.subarray(this.tailUsed);
      this.tailUsed = 0;
    }
  }
}
