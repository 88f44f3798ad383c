/**
 * permessage-deflate options (ws-compatible names) and their defaults.
 *
 * Defaults favour memory: a server answers with server_no_context_takeover
 * and client_no_context_takeover unless told otherwise, so no zlib state
 * lives in an idle connection (zlib streams are pooled per process and only
 * borrowed while a message is (de)compressed). Messages under 1 KiB are sent
 * uncompressed: the CPU is not worth the bytes there.
 */
import { DEFAULTS } from '../../protocol/options.js';
import type { ZlibOptions } from 'node:zlib';
import { isConcurrencyLimit } from './zlib-limiter.js';

export interface PerMessageDeflateOptions {
  /**
   * Server: answer with server_no_context_takeover (default true: no
   * compressor state is kept between messages). Client: request it (default false).
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: answer with client_no_context_takeover (default true: no
   * decompressor state is kept). Client: offer it as a hint (default false).
   */
  clientNoContextTakeover?: boolean;
  /** Window of the server's compressor, 8-15 (server: the largest it uses; client: requested). */
  serverMaxWindowBits?: number;
  /**
   * Window of the client's compressor, 8-15 (server: imposed when the client
   * allows; client: offered). `true`, as ws accepts, means no particular size:
   * a client offers the parameter without a value (which it always does).
   */
  clientMaxWindowBits?: number | true;
  /** zlib options for compression: level (default 1... see README), memLevel (default 8). */
  zlibDeflateOptions?: Pick<ZlibOptions, 'level' | 'memLevel' | 'strategy' | 'chunkSize'>;
  zlibInflateOptions?: Pick<ZlibOptions, 'chunkSize'>;
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
  /** How many zlib operations may run at once in this process: an integer >= 1 (default 10); 0 or Infinity: no limit, as in ws. */
  concurrencyLimit?: number;
}

/** permessage-deflate's entries of the one defaults table (src/protocol/options.ts). */
export const DEFLATE_DEFAULTS = DEFAULTS.perMessageDeflate;

export function isWindowBits(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 8 && value <= 15;
}

/** The options checked, with clientMaxWindowBits `true` read as "no particular size" (undefined). */
export type CheckedOptions = Omit<PerMessageDeflateOptions, 'clientMaxWindowBits'> & { clientMaxWindowBits?: number };

export function checkOptions(options: PerMessageDeflateOptions): CheckedOptions {
  for (const key of ['serverMaxWindowBits', 'clientMaxWindowBits'] as const) {
    const value = options[key];
    if (value !== undefined && !(key === 'clientMaxWindowBits' && value === true) && !isWindowBits(value)) {
      throw new RangeError(`perMessageDeflate.${key} must be an integer from 8 to 15${key === 'clientMaxWindowBits' ? ' (or true)' : ''}`);
    }
  }
  if (options.threshold !== undefined && !(options.threshold >= 0)) throw new RangeError('perMessageDeflate.threshold must be >= 0');
  // ws takes 0 and Infinity as "no limit". A negative, fractional or NaN limit
  // is a mistake (ws would silently run without a limit): refused.
  const limit = options.concurrencyLimit;
  if (limit !== undefined && !isConcurrencyLimit(limit)) {
    throw new RangeError('perMessageDeflate.concurrencyLimit must be an integer >= 1, or 0 or Infinity for no limit');
  }
  if (options.clientMaxWindowBits !== true) return options as CheckedOptions;
  const { clientMaxWindowBits: _anySize, ...rest } = options;
  return rest;
}
