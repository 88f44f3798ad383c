/**
 * Pools of raw deflate/inflate streams for messages compressed without
 * context takeover: such a stream holds no state between messages, so any
 * connection can borrow one and hand it back after a reset. An idle
 * connection then costs no zlib memory at all. Pools are keyed by the zlib
 * parameters and hold at most MAX_IDLE idle streams each.
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
  // A stream that saw a BFINAL block has ended its readable side for good:
  // reset() cannot revive it, and the next borrower would fail.
  if (pool.length < MAX_IDLE && !stream.destroyed && !stream.readableEnded) {
    stream.reset();
    pool.push(stream);
  } else {
    stream.close();
  }
}
