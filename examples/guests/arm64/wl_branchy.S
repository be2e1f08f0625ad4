/*
 * wl_branchy.S -- workload: branchy integer kernel, Collatz step counting
 * (AArch64 counterpart of x86 wl_branchy.asm: same checksum).  MMU off (EL1).
 *
 * Each round walks n = 1 .. K (K = 1000): steps(n) = number of Collatz steps
 * (n even: n/2, n odd: 3n+1) until n == 1, with a data-dependent branch per
 * step (TBNZ on bit 0); after each n: h = (h ^ steps(n)) * 0x100000001B3
 * (mod 2^64), h0 = 0xcbf29ce484222325.
 * sum = h after N rounds  (model: benches/compare `branchy`, the x86 model unchanged).
 * Both step kinds are 6 instructions: CMP, B.EQ, TBNZ, LSR | MADD (3n+1 with
 * constant registers 3 and 1), ADD, B.
 *
 * Iteration count N (rounds): the quadword at ELF symbol `iters` (.data,
 * default 400), patchable as in wl_loop.S (set-iters.py).
 * Measured section (strictly between MARK_BEGIN and MARK_END, see wl_loop.S),
 * S = sum of steps(n) for n = 1..K = 59542:
 *     instructions = 6 + N * (3 + 9*K + 6*S) = 6 + 366255*N
 *   set-up 6 (3 LDR, 2 MOV, CBZ); per round MOV, per n 9 + 6*steps(n)
 *   (MOV, MOV, the final CMP + B.EQ, EOR, MUL, ADD, CMP, B.LS), SUBS, B.NE.
 * Output: sum=0x<16 hex>, PASS: wl_branchy, DONE 1 passed, 0 failed.
 */
#include "lib/guest.h"

#define K 1000

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    .global bench_mark_begin, bench_mark_end
bench_mark_begin:
    MARK_BEGIN
    ldr     x9, iters
    ldr     x2, =0xcbf29ce484222325     // h
    ldr     x10, =0x100000001B3
    mov     x12, #3
    mov     x13, #1
    cbz     x9, .Ldone                  // 6
.Lround:
    mov     x3, #1                      // round: 3 + 9*K + 6*S
.Ln:
    mov     x0, x3                      // per n: 9 + 6*steps(n)
    mov     x1, #0
.Ls:
    cmp     x0, #1
    b.eq    .Le
    tbnz    x0, #0, .Lodd
    lsr     x0, x0, #1                  // even: n / 2
    add     x1, x1, #1
    b       .Ls
.Lodd:
    madd    x0, x0, x12, x13            // odd: 3n + 1
    add     x1, x1, #1
    b       .Ls
.Le:
    eor     x2, x2, x1
    mul     x2, x2, x10
    add     x3, x3, #1
    cmp     x3, #K
    b.ls    .Ln
    subs    x9, x9, #1
    b.ne    .Lround
.Ldone:
bench_mark_end:
    MARK_END
    mov     x0, x2
    bl      print_sum
    PASS    "wl_branchy"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg

    .data
    .balign 8
    .global iters
    .type   iters, %object
    .size   iters, 8
iters:      .quad 400
