/*
 * wl_samepage.S -- workload: the reference 10-instruction loop (lib/loop10.h)
 * with its scratch qword in the SAME 4 KiB page as the loop code (the
 * self-modifying-code worst case of shared/bench "guest-samepage": every
 * store hits a page that holds code).  MMU off (EL1).
 *
 * Layout: the loop lives in a page-aligned 4096-byte block `bench_page`
 * (.text): code and its literal pool start at offset 0 (< 0x80 bytes, one
 * 128-byte line), the scratch qword is at offset 0x800 (more than 1900 bytes
 * away from the last code byte), the rest of the page is zero padding (UDF).
 * The stores never modify code: a correct emulator must keep executing the
 * cached translation (or at least get the right answer).
 *
 * Iteration count N: the quadword at ELF symbol `iters` (.data, default
 * 1000000), patchable by a loader as in wl_loop.
 * Measured section (strictly between MARK_BEGIN and MARK_END, see wl_loop.S):
 *     instructions = 7 + 10*N
 * Output: sum=0x<16 hex> (same model as wl_loop), PASS: wl_samepage, DONE.
 */
#include "lib/guest.h"
#include "lib/loop10.h"

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x5, =scratch_sp
    bl      bench_page
    bl      print_sum
    PASS    "wl_samepage"
    ldp     x29, x30, [sp], #16
    ret
    .ltorg                              // main's literals stay out of bench_page

    .balign 4096
    .global bench_page, bench_mark_begin, bench_mark_end
bench_page:
bench_mark_begin:
    MARK_BEGIN
    LOOP10  iters                       // 7 + 10*N
bench_mark_end:
    MARK_END
    ret
    .ltorg                              // the two 64-bit seeds
    .org    bench_page + 0x80           // (error if the code exceeds one line)
    .org    bench_page + 0x800
    .global scratch_sp
scratch_sp: .quad 0                     // offset 0x800 of the code page
    .org    bench_page + 4096

    .data
    .balign 8
    .global iters
    .type   iters, %object
    .size   iters, 8
iters:      .quad 1000000
