/*
 * wl_loop.S -- workload: the reference 10-instruction integer loop
 * (lib/loop10.h, same as shared/bench/arm64/guest.S and x86 wl_loop) with its
 * scratch qword alone in its own 4 KiB page (.bss, page aligned, nothing else
 * in that page), so the loop's stores never touch a page holding code.
 * MMU off (EL1, as the shared/bench QEMU anchor).
 *
 * Iteration count N: the quadword at ELF symbol `iters` (.data, default
 * 1000000).  A loader may patch it in the image (or in guest RAM before the
 * first instruction runs); N = 0 is the "boot" workload (boot + exit only).
 *
 * Measured section: the instructions strictly between MARK_BEGIN
 * (`movz xzr, #0x4d41`, 0xd289a83f, symbol bench_mark_begin) and MARK_END
 * (`movz xzr, #0x454e`, 0xd288a9df, symbol bench_mark_end):
 *     instructions = 7 + 10*N
 * Output: sum=0x<16 hex> (model: shared/bench/ref.py, benches/compare `loop`;
 * N = 1000000 -> 0x13d28418ea6e3a33), PASS: wl_loop, DONE 1 passed, 0 failed.
 */
#include "lib/guest.h"
#include "lib/loop10.h"

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x5, =scratch
    .global bench_mark_begin, bench_mark_end
bench_mark_begin:
    MARK_BEGIN
    LOOP10  iters                       // 7 + 10*N
bench_mark_end:
    MARK_END
    bl      print_sum
    PASS    "wl_loop"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg

    .data
    .balign 8
    .global iters
    .type   iters, %object
    .size   iters, 8
iters:      .quad 1000000

    .bss
    .balign 4096
scratch:    .skip 4096                  // the scratch qword, alone in its page
