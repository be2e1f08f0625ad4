/*
 * wl_ptrchase.S -- workload: pointer chase through a pseudo-random cyclic
 * permutation (AArch64 counterpart of x86 wl_ptrchase.asm: same permutation,
 * same node layout, same checksum).  MMU off (EL1).
 *
 * M = 16384 nodes of 64 bytes (1 MiB, page aligned): node[i] = { qword next
 * (address of node[perm[i]]), qword payload = i * 0x9E3779B97F4A7C15 mod 2^64,
 * 48 bytes pad }.  perm is one single cycle of length M, built at start-up
 * (outside the measured section) with Sattolo's algorithm driven by an LCG:
 *     perm[i] = i;  x = 1
 *     for i = M-1 down to 1: x = x*6364136223846793005 + 1442695040888963407 (mod 2^64)
 *                            j = (x >> 33) mod i;  swap(perm[i], perm[j])
 * Measured: start at node[0]; N steps of   p = p->next; acc += p->payload.
 * sum = acc (mod 2^64)  (model: benches/compare `ptrchase`, the x86 model unchanged).
 *
 * Iteration count N (steps): the quadword at ELF symbol `iters` (.data,
 * default 25000000), patchable as in wl_loop.S (set-iters.py).
 * Measured section (strictly between MARK_BEGIN and MARK_END, see wl_loop.S):
 *     instructions = 5 + 5*N
 *   set-up 4 (2 LDR, MOV, CBZ); per step LDR next, LDR payload, ADD, SUBS, B.NE;
 *   1 final MOV.
 * Output: sum=0x<16 hex>, PASS: wl_ptrchase, DONE 1 passed, 0 failed.
 */
#include "lib/guest.h"

#define NODES 16384

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x6, =perm
    mov     x1, #0                      // perm[i] = i
1:  str     w1, [x6, x1, lsl #2]
    add     x1, x1, #1
    cmp     x1, #NODES
    b.lo    1b
    mov     x8, #1                      // Sattolo shuffle
    ldr     x9, =6364136223846793005
    ldr     x10, =1442695040888963407
    mov     x1, #(NODES - 1)            // i
2:  madd    x8, x8, x9, x10
    lsr     x0, x8, #33
    udiv    x2, x0, x1
    msub    x2, x2, x1, x0              // j = (x >> 33) mod i
    ldr     w3, [x6, x1, lsl #2]
    ldr     w4, [x6, x2, lsl #2]
    str     w4, [x6, x1, lsl #2]
    str     w3, [x6, x2, lsl #2]
    subs    x1, x1, #1
    b.ne    2b
    ldr     x9, =0x9E3779B97F4A7C15     // link the nodes
    ldr     x7, =nodes
    mov     x1, #0
3:  ldr     w0, [x6, x1, lsl #2]
    add     x0, x7, x0, lsl #6          // &node[perm[i]]
    add     x2, x7, x1, lsl #6          // &node[i]
    mul     x3, x1, x9
    stp     x0, x3, [x2]
    add     x1, x1, #1
    cmp     x1, #NODES
    b.lo    3b

    .global bench_mark_begin, bench_mark_end
bench_mark_begin:
    MARK_BEGIN
    ldr     x1, iters                   // steps
    ldr     x0, =nodes                  // p = &node[0]
    mov     x2, #0                      // acc
    cbz     x1, .Ldone                  // 4
.Lchase:
    ldr     x0, [x0]                    // p = p->next
    ldr     x3, [x0, #8]                // acc += p->payload
    add     x2, x2, x3
    subs    x1, x1, #1
    b.ne    .Lchase                     // 5 per step
.Ldone:
    mov     x0, x2                      // 1
bench_mark_end:
    MARK_END
    bl      print_sum
    PASS    "wl_ptrchase"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg

    .data
    .balign 8
    .global iters
    .type   iters, %object
    .size   iters, 8
iters:      .quad 25000000

    .bss
    .balign 4096
perm:       .skip NODES * 4
    .balign 4096
nodes:      .skip NODES * 64
