/*
 * wl_memcpy.S -- workload: memset + memcpy over a 64 KiB destination buffer
 * (AArch64 counterpart of x86 wl_memcpy.asm: same data, same final buffer,
 * same checksum).  MMU off (EL1).
 *
 * src = 64 KiB of LCG qwords (x = x*6364136223846793005 + 1442695040888963407,
 * x0 = 1, src[i] = x after i+1 steps), built at start-up outside the measured
 * section.  Round r (r = N, N-1, ..., 1), f(r) = r * 0x9E3779B97F4A7C15 mod 2^64:
 *   1. STP loop      : dst[0 .. 64K)   = f(r)             (4096 x 16 bytes, 3 insns each)
 *   2. LDP/STP loop  : dst[0 .. 32K)   = src[0 .. 32K)    (2048 x 16 bytes, 4 insns each)
 *   3. qword loop    : dst[32K .. 48K) = src[32K .. 48K)  (2048 x 8 bytes, 4 insns each)
 *   4. byte loop     : dst[48K .. 52K) = src[48K .. 52K)  (4096 x 1 byte, 4 insns each)
 *   5. acc += dst qword[(r*1031) & 8191]
 * After the measured section: h = acc; for each dst qword q: h = rol(h, 5) ^ q;
 * sum = h  (model: benches/compare `memcpy`, the x86 model unchanged).
 *
 * Iteration count N (rounds): the quadword at ELF symbol `iters` (.data,
 * default 3000), patchable as in wl_loop.S (set-iters.py).
 * Measured section (strictly between MARK_BEGIN and MARK_END, see wl_loop.S):
 *     instructions = 6 + 45071*N
 *   set-up 6 (4 LDR, MOV, CBZ); per round: memset 3 + 3*4096, LDP/STP copy
 *   3 + 4*2048, qword loop 1 + 4*2048, byte loop 1 + 4*4096, sample 5, loop 2.
 * Output: sum=0x<16 hex>, PASS: wl_memcpy, DONE 1 passed, 0 failed.
 */
#include "lib/guest.h"

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    // src = LCG qwords
    mov     x0, #1
    ldr     x1, =6364136223846793005
    ldr     x2, =1442695040888963407
    ldr     x3, =src
    mov     x4, #8192
1:  madd    x0, x0, x1, x2
    str     x0, [x3], #8
    subs    x4, x4, #1
    b.ne    1b

    .global bench_mark_begin, bench_mark_end
bench_mark_begin:
    MARK_BEGIN
    ldr     x9, iters                   // r = N
    ldr     x11, =0x9E3779B97F4A7C15
    ldr     x12, =dst
    ldr     x13, =src
    mov     x10, #0                     // acc
    cbz     x9, .Ldone                  // 6
.Lround:
    mul     x0, x9, x11                 // 1. memset: 3 + 3*4096
    mov     x1, x12
    mov     x2, #4096
.Lset:
    stp     x0, x0, [x1], #16
    subs    x2, x2, #1
    b.ne    .Lset
    mov     x3, x13                     // 2. LDP/STP copy: 3 + 4*2048
    mov     x1, x12
    mov     x2, #2048
.Lcp:
    ldp     x4, x5, [x3], #16
    stp     x4, x5, [x1], #16
    subs    x2, x2, #1
    b.ne    .Lcp
    mov     x2, #2048                   // 3. qword loop: 1 + 4*2048 (x3/x1 continue at +32K)
.Lq:
    ldr     x4, [x3], #8
    str     x4, [x1], #8
    subs    x2, x2, #1
    b.ne    .Lq
    mov     x2, #4096                   // 4. byte loop: 1 + 4*4096
.Lb:
    ldrb    w4, [x3], #1
    strb    w4, [x1], #1
    subs    x2, x2, #1
    b.ne    .Lb
    mov     x4, #1031                   // 5. sample (5) + loop (2)
    mul     x4, x9, x4
    and     x4, x4, #8191
    ldr     x5, [x12, x4, lsl #3]
    add     x10, x10, x5
    subs    x9, x9, #1
    b.ne    .Lround
.Ldone:
bench_mark_end:
    MARK_END
    mov     x0, x10                     // h = acc; h = rol(h, 5) ^ q over dst
    ldr     x1, =dst
    mov     x2, #8192
2:  ldr     x3, [x1], #8
    ror     x0, x0, #59
    eor     x0, x0, x3
    subs    x2, x2, #1
    b.ne    2b
    bl      print_sum
    PASS    "wl_memcpy"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg

    .data
    .balign 8
    .global iters
    .type   iters, %object
    .size   iters, 8
iters:      .quad 3000

    .bss
    .balign 4096
src:        .skip 65536
dst:        .skip 65536
