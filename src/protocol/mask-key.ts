/**
 * Masking keys for client frames: RFC 6455 section 5.3 wants a fresh,
 * unpredictable 32-bit key per frame. Keys come from node:crypto, drawn from a
 * pool refilled 8 KiB at a time so a frame does not cost a system call.
 */
import { randomFillSync } from 'node:crypto';

export type MaskKeySource = () => Uint8Array;

const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** A fresh random key. The returned view is valid until the next call. */
export const randomMaskKey: MaskKeySource = () => {
  if (poolOffset === POOL_SIZE) {
    randomFillSync(pool, 0, POOL_SIZE);
    poolOffset = 0;
  }
  const key = pool.subarray(poolOffset, poolOffset + 4);
  poolOffset += 4;
  return key;
};
