;; Base64 encoder (RFC 4648, standard alphabet, '=' padding) for SSE output frames: encodes a chunk
;; that JavaScript copied into linear memory straight into a frame in that memory, so the frame is
;; written to the socket as it is (no JavaScript string, no second copy). The memory is the
;; caller's: it lays out the scratch input and the frame slots (frames/frame-slots.ts).
;;
;; Assembled with wabt's wat2wasm (`node packages/agent/src/exec/frames/assemble.mjs` writes
;; base64-wasm.ts); the test frames-wasm-source.test.ts checks that module against this file.
;;
;; Twelve input bytes become sixteen characters per step, with 128-bit SIMD (Wojciech Muła's
;; method: http://0x80.pl/notesen/2016-01-12-sse-base64-encoding.html), four steps per loop turn.
;; The rest (under 48 bytes) goes through the same SIMD step while 12 are left, then the scalar
;; tail with the 64-byte alphabet at address 0.
(module
  (import "env" "memory" (memory 1))
  (data (i32.const 0) "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

  ;; Encodes $len bytes at $src to $dst; returns the number of characters written (4 per 3 bytes,
  ;; rounded up). The caller leaves 4 readable bytes past the input and room for the output.
  (func (export "encode") (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $end i32) (local $out i32) (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $left i32)
    (local $x v128) (local $idx v128) (local $zero v128) (local $ac v128) (local $acMul v128) (local $bd v128)
    (local $bdMul v128) (local $offsets v128) (local $n51 v128) (local $n25 v128)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (local.set $out (local.get $dst))
    ;; One SIMD step turns the 12 bytes at $src (16 are read) into 16 characters at $out:
    ;;   1. Each 3 bytes b0 b1 b2 go to a 32-bit lane as b1 b0 b2 b1: its low 16-bit word is
    ;;      aaaaaabb bbbbcccc (b0:b1), its high word bbbbcccc ccdddddd (b1:b2), where a b c d are the
    ;;      four 6-bit indices.
    ;;   2. a and c: mask 0xfc00 / 0x0fc0, multiply the high word by 16 (c to the top), shift both
    ;;      right by 10: a in byte 0, c in byte 2. b and d: mask 0x03f0 / 0x003f, multiply by 16 /
    ;;      256: b in byte 1, d in byte 3.
    ;;   3. Index to ASCII: an offset added to each index, chosen by range with a 16-entry table:
    ;;      0..25 -> 0 ('A' - 0), 26..51 -> 1 ('a' - 26), 52..61 -> 2..11 ('0' - 52), 62 -> 12
    ;;      ('+' - 62), 63 -> 13 ('/' - 63): saturating idx - 51, minus (idx > 25 ? -1 : 0).
    (local.set $ac (v128.const i32x4 0x0fc0fc00 0x0fc0fc00 0x0fc0fc00 0x0fc0fc00))
    (local.set $acMul (v128.const i32x4 0x00100001 0x00100001 0x00100001 0x00100001))
    (local.set $bd (v128.const i32x4 0x003f03f0 0x003f03f0 0x003f03f0 0x003f03f0))
    (local.set $bdMul (v128.const i32x4 0x01000010 0x01000010 0x01000010 0x01000010))
    (local.set $offsets (v128.const i8x16 65 71 -4 -4 -4 -4 -4 -4 -4 -4 -4 -4 -19 -16 0 0))
    (local.set $n51 (i8x16.splat (i32.const 51)))
    (local.set $n25 (i8x16.splat (i32.const 25)))
    ;; 48 bytes per turn: the step written out four times (V8 neither inlines a Wasm call nor keeps
    ;; its constants in registers across calls; unrolled, with the constants in locals, the loop
    ;; runs about twice as fast as a called step).
    (block $done
      (loop $four
        (br_if $done (i32.lt_u (i32.sub (local.get $end) (local.get $src)) (i32.const 48)))
        (local.set $x (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10 (v128.load (local.get $src)) (local.get $zero)))
        (local.set $idx
          (v128.or
            (i16x8.shr_u (i16x8.mul (v128.and (local.get $x) (local.get $ac)) (local.get $acMul)) (i32.const 10))
            (i16x8.mul (v128.and (local.get $x) (local.get $bd)) (local.get $bdMul))))
        (v128.store (local.get $out)
          (i8x16.add
            (i8x16.swizzle (local.get $offsets)
              (i8x16.sub (i8x16.sub_sat_u (local.get $idx) (local.get $n51)) (i8x16.gt_s (local.get $idx) (local.get $n25))))
            (local.get $idx)))
        (local.set $x (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10 (v128.load offset=12 (local.get $src)) (local.get $zero)))
        (local.set $idx
          (v128.or
            (i16x8.shr_u (i16x8.mul (v128.and (local.get $x) (local.get $ac)) (local.get $acMul)) (i32.const 10))
            (i16x8.mul (v128.and (local.get $x) (local.get $bd)) (local.get $bdMul))))
        (v128.store offset=16 (local.get $out)
          (i8x16.add
            (i8x16.swizzle (local.get $offsets)
              (i8x16.sub (i8x16.sub_sat_u (local.get $idx) (local.get $n51)) (i8x16.gt_s (local.get $idx) (local.get $n25))))
            (local.get $idx)))
        (local.set $x (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10 (v128.load offset=24 (local.get $src)) (local.get $zero)))
        (local.set $idx
          (v128.or
            (i16x8.shr_u (i16x8.mul (v128.and (local.get $x) (local.get $ac)) (local.get $acMul)) (i32.const 10))
            (i16x8.mul (v128.and (local.get $x) (local.get $bd)) (local.get $bdMul))))
        (v128.store offset=32 (local.get $out)
          (i8x16.add
            (i8x16.swizzle (local.get $offsets)
              (i8x16.sub (i8x16.sub_sat_u (local.get $idx) (local.get $n51)) (i8x16.gt_s (local.get $idx) (local.get $n25))))
            (local.get $idx)))
        (local.set $x (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10 (v128.load offset=36 (local.get $src)) (local.get $zero)))
        (local.set $idx
          (v128.or
            (i16x8.shr_u (i16x8.mul (v128.and (local.get $x) (local.get $ac)) (local.get $acMul)) (i32.const 10))
            (i16x8.mul (v128.and (local.get $x) (local.get $bd)) (local.get $bdMul))))
        (v128.store offset=48 (local.get $out)
          (i8x16.add
            (i8x16.swizzle (local.get $offsets)
              (i8x16.sub (i8x16.sub_sat_u (local.get $idx) (local.get $n51)) (i8x16.gt_s (local.get $idx) (local.get $n25))))
            (local.get $idx)))
        (local.set $src (i32.add (local.get $src) (i32.const 48)))
        (local.set $out (i32.add (local.get $out) (i32.const 64)))
        (br $four)))
    ;; 12 to 47 bytes left: one step per turn.
    (block $done
      (loop $one
        (br_if $done (i32.lt_u (i32.sub (local.get $end) (local.get $src)) (i32.const 12)))
        (local.set $x (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10 (v128.load (local.get $src)) (local.get $zero)))
        (local.set $idx
          (v128.or
            (i16x8.shr_u (i16x8.mul (v128.and (local.get $x) (local.get $ac)) (local.get $acMul)) (i32.const 10))
            (i16x8.mul (v128.and (local.get $x) (local.get $bd)) (local.get $bdMul))))
        (v128.store (local.get $out)
          (i8x16.add
            (i8x16.swizzle (local.get $offsets)
              (i8x16.sub (i8x16.sub_sat_u (local.get $idx) (local.get $n51)) (i8x16.gt_s (local.get $idx) (local.get $n25))))
            (local.get $idx)))
        (local.set $src (i32.add (local.get $src) (i32.const 12)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $one)))
    ;; Whole groups of 3 bytes left: four table look-ups each.
    (block $done
      (loop $three
        (br_if $done (i32.lt_u (i32.sub (local.get $end) (local.get $src)) (i32.const 3)))
        (local.set $b0 (i32.load8_u (local.get $src)))
        (local.set $b1 (i32.load8_u offset=1 (local.get $src)))
        (local.set $b2 (i32.load8_u offset=2 (local.get $src)))
        (i32.store8 (local.get $out) (i32.load8_u (i32.shr_u (local.get $b0) (i32.const 2))))
        (i32.store8 offset=1 (local.get $out)
          (i32.load8_u (i32.or (i32.shl (i32.and (local.get $b0) (i32.const 3)) (i32.const 4))
            (i32.shr_u (local.get $b1) (i32.const 4)))))
        (i32.store8 offset=2 (local.get $out)
          (i32.load8_u (i32.or (i32.shl (i32.and (local.get $b1) (i32.const 15)) (i32.const 2))
            (i32.shr_u (local.get $b2) (i32.const 6)))))
        (i32.store8 offset=3 (local.get $out) (i32.load8_u (i32.and (local.get $b2) (i32.const 63))))
        (local.set $src (i32.add (local.get $src) (i32.const 3)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $three)))
    ;; 1 or 2 bytes left: 2 or 3 characters, then '=' padding to 4.
    (local.set $left (i32.sub (local.get $end) (local.get $src)))
    (if (local.get $left)
      (then
        (local.set $b0 (i32.load8_u (local.get $src)))
        (local.set $b1
          (select (i32.load8_u offset=1 (local.get $src)) (i32.const 0) (i32.eq (local.get $left) (i32.const 2))))
        (i32.store8 (local.get $out) (i32.load8_u (i32.shr_u (local.get $b0) (i32.const 2))))
        (i32.store8 offset=1 (local.get $out)
          (i32.load8_u (i32.or (i32.shl (i32.and (local.get $b0) (i32.const 3)) (i32.const 4))
            (i32.shr_u (local.get $b1) (i32.const 4)))))
        (i32.store8 offset=2 (local.get $out)
          (select
            (i32.load8_u (i32.shl (i32.and (local.get $b1) (i32.const 15)) (i32.const 2)))
            (i32.const 61) ;; '='
            (i32.eq (local.get $left) (i32.const 2))))
        (i32.store8 offset=3 (local.get $out) (i32.const 61))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))))
    (i32.sub (local.get $out) (local.get $dst))))
