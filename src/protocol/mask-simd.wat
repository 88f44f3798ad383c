;; WebAssembly SIMD kernel of the masking (see mask-simd.ts), compiled by
;; scripts/build-wasm.mjs into mask-simd-bytes.ts. One 64 KiB page of memory
;; is the scratch area the JavaScript side copies data into and out of.
(module
  (memory (export "memory") 1)
  ;; XOR the bytes [p, end) with the 32-bit key repeated (little-endian: the
  ;; key's low byte goes on byte p). end - p must be a multiple of 64.
  (func (export "xor64") (param $p i32) (param $end i32) (param $k i32)
    (local $v v128)
    (local.set $v (i32x4.splat (local.get $k)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store offset=0 (local.get $p) (v128.xor (v128.load offset=0 (local.get $p)) (local.get $v)))
        (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $v)))
        (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $v)))
        (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $v)))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $next)))))
