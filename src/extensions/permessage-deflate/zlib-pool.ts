/**
 * Pools of raw deflate/inflate streams for messages compressed without
 * context takeover: such a stream holds no state between messages, so any
 * connection can borrow one and hand it back after a reset. An idle
 * connection then costs no zlib memory at all. Pools are keyed by the zlib
 * parameters and hold at most MAX_IDLE idle streams each. A stream handed
 * back with anything left in it (unread output, unprocessed input, an
 * ended side) is closed instead of pooled.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

export interface DeflateParamsKey {
  windowBits: number;
  level: number;
  memLevel: number;
  strategy: number;
  chunkSize?: number | undefined;
}

const MAX_IDLE = 16;

const deflatePools = new Map<string, DeflateRaw[]>();
const inflatePools = new Map<string, InflateRaw[]>();

/** zlib only deflates with a 9-bit window at least; see README (its output never needs more than 256 bytes). */
export const deflateWindowBits = (bits: number): number => Math.max(9, bits);

export function createDeflater(p: DeflateParamsKey): DeflateRaw {
  // Every write is a sync flush: one thread-pool operation per message.
  return createDeflateRaw({
    flush: constants.Z_SYNC_FLUSH,
    windowBits: deflateWindowBits(p.windowBits),
    level: p.level,
    memLevel: p.memLevel,
    strategy: p.strategy,
    ...(p.chunkSize !== undefined ? { chunkSize: p.chunkSize } : {}),
  });
}

export function createInflater(windowBits: number, chunkSize?: number): InflateRaw {
  return createInflateRaw({ windowBits, flush: constants.Z_SYNC_FLUSH, ...(chunkSize !== undefined ? { chunkSize } : {}) });
}

const deflateKey = (p: DeflateParamsKey) => `${p.windowBits}/${p.level}/${p.memLevel}/${p.strategy}/${p.chunkSize ?? ''}`;
const inflateKey = (windowBits: number, chunkSize: number | undefined) => `${windowBits}/${chunkSize ?? ''}`;

export function borrowDeflater(p: DeflateParamsKey): DeflateRaw {
  return deflatePools.get(deflateKey(p))?.pop() ?? createDeflater(p);
}

export function returnDeflater(p: DeflateParamsKey, stream: DeflateRaw): void {
  giveBack(deflatePools, deflateKey(p), stream);
}

export function borrowInflater(windowBits: number, chunkSize?: number): InflateRaw {
  return inflatePools.get(inflateKey(windowBits, chunkSize))?.pop() ?? createInflater(windowBits, chunkSize);
}

export function returnInflater(windowBits: number, chunkSize: number | undefined, stream: InflateRaw): void {
  giveBack(inflatePools, inflateKey(windowBits, chunkSize), stream);
}

/** Reset a stream into its pool, or close it when the pool is full or the stream unusable. */
function giveBack<T extends DeflateRaw | InflateRaw>(pools: Map<string, T[]>, key: string, stream: T): void {
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = []));
  if (pool.length < MAX_IDLE && isClean(stream)) {
    stream.reset();
    pool.push(stream);
  } else {
    stream.close();
  }
}

/**
 * Can the next borrower use this stream as new once it is reset? reset()
 * only resets zlib's state: it neither empties the stream's buffers nor
 * revives an ended side.
 */
function isClean(stream: DeflateRaw | InflateRaw): boolean {
  return (
    !stream.destroyed &&
    // A block with BFINAL set ended the readable side for good; end() the writable side.
    !stream.readableEnded &&
    !stream.writableEnded &&
    // Output nobody read would be the next borrower's first 'data'.
    stream.readableLength === 0 &&
    // Input not yet processed (a write still in the thread pool) would be
    // compressed into the next borrower's output, and resetting zlib under
    // it is not safe.
    stream.writableLength === 0
  );
}
