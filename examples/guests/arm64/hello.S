/*
 * hello.S -- smoke test: greeting, CurrentEL, a few implementation-independent
 * facts (no MIDR values are printed or checked).
 *
 * Checks:
 *   - CurrentEL.EL == 1 at entry (Arm ARM C5.2 CurrentEL; QEMU's virt board
 *     without virtualization=on/secure=on has no EL2/EL3 and enters the
 *     kernel at EL1)
 *   - SCTLR_EL1.M == 0: stage-1 translation off at entry (Arm ARM D17.2 SCTLR_EL1)
 *   - ID_AA64PFR0_EL1.EL0 and .EL1 >= 1: AArch64 at EL0/EL1 (D17.2 ID_AA64PFR0_EL1)
 *   - MPIDR_EL1.Aff0 == 0 on the boot CPU, MPIDR_EL1 bit 31 RES1 (D17.2 MPIDR_EL1)
 *   - x0..x30/SP are usable: a call through the stack returns
 */
#include "lib/guest.h"

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "Hello from chimera arm64\n"
    PRINT   "CurrentEL=EL"
    mrs     x1, CurrentEL
    ubfx    x1, x1, #2, #2
    add     w0, w1, #'0'
    bl      putc
    mov     w0, #'\n'
    bl      putc
    CHECK   "CurrentEL is EL1", x1, 1

    mrs     x1, sctlr_el1
    CHECKM  "SCTLR_EL1.M off at entry", x1, 1, 0

    mrs     x1, id_aa64pfr0_el1
    ubfx    x2, x1, #0, #4
    cmp     x2, #1
    EXPECT  hs, "ID_AA64PFR0_EL1.EL0 AArch64"
    ubfx    x2, x1, #4, #4
    cmp     x2, #1
    EXPECT  hs, "ID_AA64PFR0_EL1.EL1 AArch64"

    mrs     x1, mpidr_el1
    CHECKM  "MPIDR_EL1 boot CPU Aff0 0, bit 31 set", x1, 0x800000ff, 0x80000000

    mov     x0, #41
    bl      plus_one
    CHECK   "call and return through the stack", x0, 42

    ldp     x29, x30, [sp], #16
    ret

plus_one:
    stp     x29, x30, [sp, #-16]!
    add     x0, x0, #1
    ldp     x29, x30, [sp], #16
    ret
