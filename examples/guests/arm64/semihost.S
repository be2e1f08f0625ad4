/*
 * semihost.S -- Arm semihosting ("Semihosting for AArch32 and AArch64",
 * version 2.0): calls are HLT #0xF000 with the operation in W0 and the
 * parameter in X1, the result in X0.  Run with QEMU `-semihosting` or chimera
 * `--semihosting`.  The semihosting console output lands in the same stream
 * as the UART (see README.md).
 *
 * Checks:
 *   - SYS_WRITE0 (0x04) prints a string, SYS_WRITEC (0x03) a character
 *   - SYS_OPEN (0x01) of ":tt" for writing (mode 4) returns a handle;
 *     SYS_ISTTY (0x09) of it is 0 or 1 (QEMU answers with the host's
 *     isatty() of its own stdout, 0 when redirected); SYS_WRITE (0x05) through it prints and
 *     returns 0 (no bytes left unwritten); SYS_CLOSE (0x02) returns 0
 *   - SYS_CLOSE of a handle that was never opened returns -1, and SYS_ERRNO
 *     (0x13) is then non-zero
 *   - SYS_CLOCK (0x10) is not -1; SYS_TIME (0x11) is after 2020-01-01
 *   - SYS_HEAPINFO (0x16) fills the 4-field block (the block is pre-filled with
 *     a marker; at least one field changes)
 *   - then DONE, and SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit and
 *     subcode 3: the emulator exits with status 3 (no PSCI SYSTEM_OFF)
 */
#include "lib/guest.h"

#define SYS_OPEN        0x01
#define SYS_CLOSE       0x02
#define SYS_WRITEC      0x03
#define SYS_WRITE0      0x04
#define SYS_WRITE       0x05
#define SYS_ISTTY       0x09
#define SYS_CLOCK       0x10
#define SYS_TIME        0x11
#define SYS_ERRNO       0x13
#define SYS_HEAPINFO    0x16
#define SYS_EXIT        0x18
#define ADP_Stopped_ApplicationExit 0x20026

.macro SEMI op, arg
    mov     w0, #\op
    ldr     x1, =\arg
    hlt     #0xf000
.endm

    .section .rodata
s_write0:   .asciz "semihosting SYS_WRITE0 works\n"
s_tt:       .asciz ":tt"
s_write:    .ascii "semihosting SYS_WRITE works\n"
s_write_end:
    .equ S_WRITE_LEN, s_write_end - s_write

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!

    PRINT   "UART before semihosting\n"
    SEMI    SYS_WRITE0, s_write0
    PASS    "SYS_WRITE0"
    ldr     x2, =chars
    mov     w3, #'C'
    strb    w3, [x2]
    mov     w3, #'\n'
    strb    w3, [x2, #1]
    SEMI    SYS_WRITEC, chars
    SEMI    SYS_WRITEC, chars + 1
    PASS    "SYS_WRITEC"

    // SYS_OPEN ":tt", mode 4 ("w"), length 3
    ldr     x2, =block
    ldr     x3, =s_tt
    mov     x4, #4
    mov     x5, #3
    stp     x3, x4, [x2]
    str     x5, [x2, #16]
    SEMI    SYS_OPEN, block
    mov     x19, x0
    cmn     x19, #1
    EXPECT  ne, "SYS_OPEN :tt for writing gives a handle"
    ldr     x2, =block
    str     x19, [x2]
    SEMI    SYS_ISTTY, block
    cmp     x0, #1                      // 1: a terminal; 0 (QEMU): host stdout is a file
    EXPECT  ls, "SYS_ISTTY of the console handle is 0 or 1"
    ldr     x2, =block
    ldr     x3, =s_write
    mov     x4, #S_WRITE_LEN
    stp     x19, x3, [x2]
    str     x4, [x2, #16]
    SEMI    SYS_WRITE, block
    CHECK   "SYS_WRITE returns 0 bytes unwritten", x0, 0
    ldr     x2, =block
    str     x19, [x2]
    SEMI    SYS_CLOSE, block
    CHECK   "SYS_CLOSE of the console handle", x0, 0

    ldr     x2, =block
    mov     x3, #0x7777
    str     x3, [x2]
    SEMI    SYS_CLOSE, block
    CHECK   "SYS_CLOSE of a bad handle is -1", x0, -1
    SEMI    SYS_ERRNO, 0
    cmp     x0, #0
    EXPECT  ne, "SYS_ERRNO non-zero after a failed call"

    SEMI    SYS_CLOCK, 0
    cmn     x0, #1
    EXPECT  ne, "SYS_CLOCK is not -1"
    SEMI    SYS_TIME, 0
    ldr     x1, =1577836800             // 2020-01-01T00:00:00Z
    cmp     x0, x1
    EXPECT  hs, "SYS_TIME after 2020"

    // SYS_HEAPINFO: x1 -> pointer -> 4-field block
    ldr     x2, =heapblk
    ldr     x3, =0x5a5a5a5a5a5a5a5a
    stp     x3, x3, [x2]
    stp     x3, x3, [x2, #16]
    ldr     x4, =heapptr
    str     x2, [x4]
    SEMI    SYS_HEAPINFO, heapptr
    ldr     x2, =heapblk
    ldp     x4, x5, [x2]
    ldp     x6, x7, [x2, #16]
    mov     x8, #0
    cmp     x4, x3
    cinc    x8, x8, ne
    cmp     x5, x3
    cinc    x8, x8, ne
    cmp     x6, x3
    cinc    x8, x8, ne
    cmp     x7, x3
    cinc    x8, x8, ne
    cmp     x8, #0
    EXPECT  ne, "SYS_HEAPINFO fills the block"

    PRINT   "UART after semihosting\n"
    // DONE line as lib/base.S prints it, then SYS_EXIT instead of PSCI.
    PRINT   "DONE "
    ldr     x0, =npass
    ldr     x0, [x0]
    bl      putdec
    PRINT   " passed, "
    ldr     x0, =nfail
    ldr     x0, [x0]
    bl      putdec
    PRINT   " failed\n"
    ldr     x2, =block
    ldr     x3, =ADP_Stopped_ApplicationExit
    mov     x4, #3
    stp     x3, x4, [x2]
    SEMI    SYS_EXIT, block
    FAIL    "SYS_EXIT returned", ""
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

    .bss
    .balign 16
block:      .skip 32
heapptr:    .skip 8
heapblk:    .skip 32
chars:      .skip 16
