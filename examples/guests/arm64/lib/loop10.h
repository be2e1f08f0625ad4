/*
 * lib/loop10.h -- the team's reference 10-instruction loop
 * (shared/bench/arm64/guest.S, = x86 lib/loop10.inc) as an assembler macro.
 *
 *   LOOP10 iters_label
 * In:  x5 = 8-byte aligned scratch qword; iters_label = a quadword holding N
 *      (read with one PC-relative LDR (literal), so it must be within 1 MiB).
 * Out: x0 = checksum a ^ b ^ acc (model: shared/bench/ref.py, benches/compare
 *      `loop`).  Clobbers x1, x2, x4, x8, NZCV.
 * Exact dynamic instruction count of the expansion: 7 + 10*N (also for N = 0):
 *      4 set-up + CBZ, 10 per iteration, 2 final EORs.
 */
.macro LOOP10 iters
    ldr     x0, =0x0123456789abcdef     // a
    ldr     x1, =0xfedcba9876543210     // b
    mov     x2, #0                      // acc
    ldr     x4, \iters                  // counter = N
    cbz     x4, .Lloop10_done\@
.Lloop10_top\@:                         // ---- 10 insns/iteration ----
    add     x0, x0, x1                  // 1  a += b
    eor     x1, x1, x0                  // 2  b ^= a
    ror     x0, x0, #51                 // 3  a = rotl(a, 13)
    str     x0, [x5]                    // 4  store a
    ldr     x8, [x5]                    // 5  load it back
    lsr     x8, x8, #3                  // 6  t >>= 3
    add     x2, x2, x8                  // 7  acc += t
    eor     x1, x1, x4                  // 8  b ^= counter
    subs    x4, x4, #1                  // 9  counter--
    b.ne    .Lloop10_top\@              // 10
.Lloop10_done\@:
    eor     x0, x0, x1                  // checksum = a ^ b
    eor     x0, x0, x2                  //          ^ acc
.endm
