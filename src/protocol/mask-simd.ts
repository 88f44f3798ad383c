/**
 * The SIMD path of the masking: a 16-byte-wide XOR in WebAssembly (source:
 * mask-simd.wat). WebAssembly can only touch its own memory, so data goes
 * through a 64 KiB scratch page: native copy in, XOR, native copy out. Even
 * with the two copies that is about 28 GiB/s, against 11 GiB/s for the
 * word-wise JavaScript loop, from about 1 KiB up (below, the calls cost more
 * than they save: mask.ts keeps small payloads in JavaScript).
 *
 * No runtime without WebAssembly SIMD (or with HYPERWS_NO_WASM=1 in the
 * environment) loses anything but speed: `simdMask` is then null and the
 * JavaScript loop does all the work.
 */
import { MASK_SIMD_WASM } from './mask-simd-bytes.js';

/** Payloads from this size on are worth the trip through WebAssembly. */
export const SIMD_MIN_LENGTH = 1024;

const SCRATCH = 64 * 1024;

// The few WebAssembly names used here (the library compiles without the DOM lib).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module);
    readonly exports: unknown;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
}

interface Kernel {
  xor64(start: number, end: number, key: number): void;
  memory: WebAssembly.Memory;
}

function load(): Kernel | null {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.['HYPERWS_NO_WASM'] === '1' || typeof WebAssembly !== 'object') return null;
  try {
    const bytes = Uint8Array.from(atob(MASK_SIMD_WASM), (c) => c.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    return instance.exports as Kernel;
  } catch {
    return null; // no SIMD support: validation of the module fails
  }
}

const kernel = load();
// The memory never grows, so this view stays valid.
const scratch = kernel ? new Uint8Array(kernel.memory.buffer, 0, SCRATCH) : null;

/**
 * dst[dstOff + i] = src[srcOff + i] ^ keyByte(i) for the leading whole
 * 64-byte blocks of `length`, where `key` is the packed mask word as it lies
 * on the first byte (see xorInPlace in mask.ts). Returns how many bytes it
 * did (a multiple of 64, so the key's phase is unchanged for the rest).
 * src and dst may be the same bytes, but must not otherwise overlap (the
 * work goes in 64 KiB steps). Null when SIMD is unavailable.
 */
export const simdMask = scratch === null
  ? null
  : (src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, length: number, key: number): number => {
      const xor64 = kernel!.xor64;
      const whole = length - (length % 64); // not `& ~63`: lengths may exceed 2^31
      for (let done = 0; done < whole; ) {
        const n = Math.min(SCRATCH, whole - done);
        scratch.set(src.subarray(srcOff + done, srcOff + done + n));
        xor64(0, n, key);
        dst.set(n === SCRATCH ? scratch : scratch.subarray(0, n), dstOff + done);
        done += n;
      }
      return whole;
    };

/** Whether masking runs on WebAssembly SIMD in this process (for reports and tests). */
export const maskBackend: 'wasm-simd' | 'javascript' = simdMask ? 'wasm-simd' : 'javascript';
