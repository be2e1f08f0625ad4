/*
 * wl_sieve.S -- workload: sieve of Eratosthenes over L = 1<<20 bytes, N rounds
 * (AArch64 counterpart of x86 wl_sieve.asm: same checksum).
 *
 * Mode: the quadword at ELF symbol `paging` (.data, default 1; patched like
 * `iters`, e.g. by benches/compare `sieve0`/`sieve1`):
 *   paging=0  MMU off (EL1): the buffer is accessed at its physical address.
 *   paging=1  MMU on: lib/mmu.S identity map (1 GiB blocks) plus the buffer
 *             mapped with 4 KiB pages (256 level-3 PTEs, Normal WB) at virtual
 *             0x80000000 (level 1 entry 2 -> level 2 table -> level 3 table),
 *             so every sieve access goes through a 4 KiB TLB entry.
 * The measured code is the same instructions at the same addresses in both
 * modes (the buffer base is in x10, set before MARK_BEGIN).
 * Round: flag[0..L) = 0 (word store loop); for p = 2 while p*p < L: if
 * flag[p] == 0: flag[m] = 1 for m = p*p, p*p+p, ... < L; then count/hash pass
 * over i = 2 .. L-1: if flag[i] == 0: count++, hash = hash*31 + i (mod 2^32).
 * sum = count << 32 | hash of the last round (82025 primes below 2^20)
 * (model: benches/compare `sieve`, the x86 model unchanged; 0 for N = 0).
 *
 * Iteration count N (rounds): the quadword at ELF symbol `iters` (.data,
 * default 8), patchable as in wl_loop.S (set-iters.py).
 * Measured section (strictly between MARK_BEGIN and MARK_END, see wl_loop.S),
 * identical in both modes:
 *     instructions = 6 + N * C
 *     C = 1 + L           (clear: 4 per word)
 *       + 1 + sum over p = 2 .. 1023 of (7 + [p prime] * (1 + 4 * ceil((L - p*p) / p)))
 *       + 3               (p = 1024 ends the loop)
 *       + 3 + sum over i = 2 .. L-1 of (5 + 2 * [i prime])
 *       + 2               (round loop)
 *       = 15378356 for L = 1<<20 (82025 primes below L, 172 primes below 1024)
 * Output: `paging=<0|1> ...`, sum=0x<16 hex>, PASS: wl_sieve, DONE 1 passed, 0 failed.
 */
#include "lib/guest.h"

#define L       (1 << 20)
#define VBASE   0x80000000
#define PTE_4K  ((1 << 10) | (3 << 8) | (1 << 2) | 3)  /* AF, Inner Shareable, attr 1 (Normal WB), page */

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x0, paging
    cbnz    x0, 1f
    PRINT   "paging=0 (MMU off)\n"
    ldr     x10, =sieve
    b       2f
1:  PRINT   "paging=1 (MMU on, 4 KiB pages)\n"
    bl      mmu_identity_build
    ldr     x0, =ident_l1               // L1[2] (VA 2..3 GiB) -> sieve_l2
    ldr     x1, =sieve_l2
    orr     x1, x1, #3
    str     x1, [x0, #16]
    ldr     x0, =sieve_l2               // L2[0] (VA 2 GiB + 0..2 MiB) -> sieve_l3
    ldr     x1, =sieve_l3
    orr     x1, x1, #3
    str     x1, [x0]
    ldr     x0, =sieve_l3               // 256 PTEs -> sieve buffer
    ldr     x1, =sieve
    ldr     x2, =PTE_4K
    orr     x1, x1, x2
    mov     x3, #(L / 4096)
3:  str     x1, [x0], #8
    add     x1, x1, #4096
    subs    x3, x3, #1
    b.ne    3b
    dsb     ish
    bl      mmu_identity_enable
    ldr     x10, =VBASE
2:
    .global bench_mark_begin, bench_mark_end
bench_mark_begin:
    MARK_BEGIN
    ldr     x9, iters                   // rounds
    mov     w7, #1
    mov     w8, #31
    mov     w5, #0                      // count
    mov     w6, #0                      // hash
    cbz     x9, .Ldone                  // 6
.Lround:
    mov     x1, #0                      // clear: 1 + 4*(L/4)
.Lz:
    str     wzr, [x10, x1]
    add     x1, x1, #4
    cmp     x1, #L
    b.lo    .Lz
    mov     w2, #2                      // 1
.Lp:
    mul     w3, w2, w2                  // per p: 7 (+ 1 + 4*multiples if prime)
    cmp     w3, #L
    b.hs    .Lcount
    ldrb    w4, [x10, x2]
    cbnz    w4, .Lnp
    mov     w1, w3
.Lm:
    strb    w7, [x10, x1]
    add     w1, w1, w2
    cmp     w1, #L
    b.lo    .Lm
.Lnp:
    add     w2, w2, #1
    b       .Lp
.Lcount:
    mov     w5, #0                      // 3
    mov     w6, #0
    mov     w1, #2
.Lc:
    ldrb    w4, [x10, x1]               // per i: 5 (+ 2 if prime)
    cbnz    w4, .Lcn
    add     w5, w5, #1
    madd    w6, w6, w8, w1
.Lcn:
    add     w1, w1, #1
    cmp     w1, #L
    b.lo    .Lc
    subs    x9, x9, #1                  // 2
    b.ne    .Lround
.Ldone:
bench_mark_end:
    MARK_END
    orr     x0, x6, x5, lsl #32
    bl      print_sum
    PASS    "wl_sieve"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg

    .data
    .balign 8
    .global iters, paging
    .type   iters, %object
    .size   iters, 8
iters:      .quad 8
    .type   paging, %object
    .size   paging, 8
paging:     .quad 1

    .bss
    .balign 4096
sieve_l2:   .skip 4096
sieve_l3:   .skip 4096
sieve:      .skip L
