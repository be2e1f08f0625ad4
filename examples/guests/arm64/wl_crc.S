/*
 * wl_crc.S -- workload: table-driven CRC-32 (AArch64 counterpart of x86
 * wl_crc.asm: same table, buffer and checksum; no CRC32 instructions).
 * MMU off (EL1).
 *
 * CRC-32 (reflected polynomial 0xEDB88320, bytewise, 256-entry table of words)
 * over a 16 KiB buffer, N rounds chained: crc = crc32(buf, crc) each round, i.e.
 * the CRC-32 (zlib/PNG convention: init ~0, final ~) of the buffer repeated N
 * times.  buf[i] = byte 3 (bits 24..31) of x after i+1 LCG steps,
 * x = x*1103515245 + 12345 mod 2^32, x0 = 1; table and buffer are built at
 * start-up, outside the measured section.
 * sum = crc (zero-extended to 64 bits)  (model: benches/compare `crc`, zlib.crc32).
 *
 * Iteration count N (rounds): the quadword at ELF symbol `iters` (.data,
 * default 1200), patchable as in wl_loop.S (set-iters.py).
 * Measured section (strictly between MARK_BEGIN and MARK_END, see wl_loop.S):
 *     instructions = 5 + N * (6 + 7*16384) = 5 + 114694*N   (as x86)
 *   set-up 5 (3 LDR, MOV, CBZ); per round MVN, MOV, MOV, 7 per byte
 *   (LDRB, EOR, AND, LDR, EOR, SUBS, B.NE), MVN, SUBS, B.NE.
 * Output: sum=0x<16 hex>, PASS: wl_crc, DONE 1 passed, 0 failed.
 */
#include "lib/guest.h"

#define LEN 16384

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x6, =crctab                 // table
    ldr     w7, =0xEDB88320
    mov     x1, #0
1:  mov     w0, w1
    mov     w2, #8
2:  tst     w0, #1
    lsr     w0, w0, #1
    b.eq    3f
    eor     w0, w0, w7
3:  subs    w2, w2, #1
    b.ne    2b
    str     w0, [x6, x1, lsl #2]
    add     x1, x1, #1
    cmp     x1, #256
    b.lo    1b
    ldr     x6, =buf                    // buffer
    ldr     w7, =1103515245
    mov     w8, #12345
    mov     w0, #1
    mov     x1, #0
4:  madd    w0, w0, w7, w8
    lsr     w2, w0, #24
    strb    w2, [x6, x1]
    add     x1, x1, #1
    cmp     x1, #LEN
    b.lo    4b

    .global bench_mark_begin, bench_mark_end
bench_mark_begin:
    MARK_BEGIN
    ldr     x9, iters
    ldr     x10, =buf
    ldr     x11, =crctab
    mov     w0, #0                      // crc = 0
    cbz     x9, .Ldone                  // 5
.Lround:
    mvn     w0, w0                      // 3 + 7*LEN + 3 per round
    mov     x1, x10
    mov     x2, #LEN
.Lbyte:
    ldrb    w3, [x1], #1                // 7 per byte
    eor     w3, w3, w0
    and     w3, w3, #0xff
    ldr     w4, [x11, x3, lsl #2]
    eor     w0, w4, w0, lsr #8
    subs    x2, x2, #1
    b.ne    .Lbyte
    mvn     w0, w0
    subs    x9, x9, #1
    b.ne    .Lround
.Ldone:
bench_mark_end:
    MARK_END                            // (w0 writes zero-extend into x0)
    bl      print_sum
    PASS    "wl_crc"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg

    .data
    .balign 8
    .global iters
    .type   iters, %object
    .size   iters, 8
iters:      .quad 1200

    .bss
    .balign 4096
crctab:     .skip 1024
    .balign 4096
buf:        .skip LEN
