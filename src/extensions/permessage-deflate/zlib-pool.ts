/**
 * Pools of raw deflate/inflate streams for messages compressed without
 * context takeover: such a stream holds no state between messages, so any
 * connection can borrow one and hand it back after a reset. An idle
 * connection then costs no zlib memory at all. Pools are keyed by the zlib
 * parameters and hold at most `max` idle streams each.
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

export function borrowDeflater(p: DeflateParamsKey): DeflateRaw {
  return deflatePools.get(deflateKey(p))?.pop() ?? createDeflater(p);
}

export function returnDeflater(p: DeflateParamsKey, stream: DeflateRaw): void {
  const key = deflateKey(p);
  let pool = deflatePools.get(key);
  if (!pool) deflatePools.set(key, (pool = []));
  if (pool.length < MAX_IDLE && !stream.destroyed) {
    stream.reset();
    pool.push(stream);
  } else {
    stream.close();
  }
}

export function borrowInflater(windowBits: number, chunkSize?: number): InflateRaw {
  return inflatePools.get(`${windowBits}/${chunkSize ?? ''}`)?.pop() ?? createInflater(windowBits, chunkSize);
}

export function returnInflater(windowBits: number, chunkSize: number | undefined, stream: InflateRaw): void {
  const key = `${windowBits}/${chunkSize ?? ''}`;
  let pool = inflatePools.get(key);
  if (!pool) inflatePools.set(key, (pool = []));
  // A stream that saw a BFINAL block has ended its readable side for good:
  // reset() cannot revive it, and the next borrower would fail.
  if (pool.length < MAX_IDLE && !stream.destroyed && !stream.readableEnded) {
    stream.reset();
    pool.push(stream);
  } else {
    stream.close();
  }
}

/** Idle pooled streams (for tests and memory accounting). */
export function pooledStreamCount(): number {
  let n = 0;
  for (const pool of deflatePools.values()) n += pool.length;
  for (const pool of inflatePools.values()) n += pool.length;
  return n;
}
