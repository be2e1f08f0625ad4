/*
 * atomics.S -- exclusives, LSE atomics, acquire/release and barriers on one
 * CPU, with the lib/mmu.S identity map on (Normal memory).
 *
 * References: Arm ARM B2.9 "Synchronization and semaphores" (local monitor,
 * CLREX, alignment of exclusives), B2.3 ordering (LDAR/STLR, LDAPR), C6.2
 * instruction descriptions (LDXR, STXR, LDXP, STXP, CAS, CASP, LDADD, LDCLR,
 * LDSET, LDEOR, LDSMAX, LDUMIN, SWP, STADD, DMB, DSB, ISB), D17.2
 * ID_AA64ISAR0_EL1.Atomic and ID_AA64ISAR1_EL1.LRCPC.
 *
 * Checks:
 *   - LDXR/STXR: STXR status 0 and the new value stored (bounded retry)
 *   - STXR after CLREX fails (status 1), memory unchanged; STXR with no
 *     preceding LDXR (monitor open after a successful STXR) fails
 *   - LDXRB/STXRB, LDXRH/STXRH leave the neighbouring bytes alone
 *   - LDXP/STXP 2 x 64-bit; LDAXR/STLXR
 *   - LDXR from an unaligned address: alignment fault (EC 0x25, DFSC 0x21)
 *     even with SCTLR_EL1.A = 0 on Normal memory
 *   - FEAT_LSE (ID_AA64ISAR0_EL1.Atomic = 2): CAS success/failure, CASAL,
 *     CASB/CASH, CASP success/failure, LDADD/LDADDAL/LDADDH, LDCLR, LDSET,
 *     LDEOR, LDSMAX, LDUMIN, SWP/SWPAL, STADD (old values and memory)
 *   - LDAR/STLR/LDARB/STLRH; LDAPR if FEAT_LRCPC
 *   - DMB/DSB variants and ISB execute
 */
#include "lib/guest.h"

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    bl      mmu_identity_build
    bl      mmu_identity_enable
    ldr     x19, =words             // x19: 16-byte aligned scratch area

    // ------------------------------------------------------------ exclusives
    mov     x1, #100
    str     x1, [x19]
    mov     x4, #16                 // bounded retries
1:  ldxr    x1, [x19]
    add     x1, x1, #5
    stxr    w2, x1, [x19]
    cbz     w2, 2f
    cmp     w2, #1
    b.ne    2f
    subs    x4, x4, #1
    b.ne    1b
2:  CHECK   "LDXR/STXR: status 0", x2, 0
    ldr     x1, [x19]
    CHECK   "LDXR/STXR: value stored", x1, 105

    mov     x3, #7
    ldxr    x1, [x19]
    clrex
    stxr    w2, x3, [x19]
    CHECK   "STXR after CLREX fails (status 1)", x2, 1
    ldr     x1, [x19]
    CHECK   "STXR after CLREX: memory unchanged", x1, 105
    stxr    w2, x3, [x19]
    CHECK   "STXR without LDXR fails", x2, 1

    ldr     x1, =0x1122334455667788
    str     x1, [x19]
    mov     x4, #16
    add     x5, x19, #1
1:  ldxrb   w1, [x5]
    add     w1, w1, #1
    stxrb   w2, w1, [x5]
    cbz     w2, 2f
    subs    x4, x4, #1
    b.ne    1b
2:  ldr     x1, [x19]
    CHECK   "LDXRB/STXRB byte 1 only", x1, 0x1122334455667888
    add     x5, x19, #4
    mov     x4, #16
1:  ldxrh   w1, [x5]
    eor     w1, w1, #0xffff
    stxrh   w2, w1, [x5]
    cbz     w2, 2f
    subs    x4, x4, #1
    b.ne    1b
2:  ldr     x1, [x19]
    CHECK   "LDXRH/STXRH halfword 2 only", x1, 0x1122ccbb55667888

    mov     x4, #16
1:  ldxp    x1, x2, [x19]
    ldr     x6, =0x0102030405060708
    ldr     x7, =0x1112131415161718
    stxp    w3, x6, x7, [x19]
    cbz     w3, 2f
    subs    x4, x4, #1
    b.ne    1b
2:  CHECK   "LDXP/STXP: status 0", x3, 0
    CHECK   "LDXP: first word", x1, 0x1122ccbb55667888
    ldp     x1, x2, [x19]
    CHECK   "STXP: first word", x1, 0x0102030405060708
    CHECK   "STXP: second word", x2, 0x1112131415161718

    mov     x4, #16
1:  ldaxr   x1, [x19]
    add     x1, x1, #1
    stlxr   w2, x1, [x19]
    cbz     w2, 2f
    subs    x4, x4, #1
    b.ne    1b
2:  ldr     x1, [x19]
    CHECK   "LDAXR/STLXR", x1, 0x0102030405060709

    add     x20, x19, #4
    TRY     1f
ldxr_unal:
    ldxr    x1, [x20]
1:  ENDTRY
    EXC_CHECK "LDXR unaligned: EC=0x25, ELR", EC_DABT_CUR, ldxr_unal
    LDEXC   x1, esr
    CHECKM  "LDXR unaligned: DFSC alignment fault", x1, 0x3f, 0x21
    LDEXC   x1, far
    CHECKR  "LDXR unaligned: FAR", x1, x20
    clrex

    // ------------------------------------------------------------ LSE
    mrs     x1, id_aa64isar0_el1
    ubfx    x1, x1, #20, #4
    cmp     x1, #2
    b.hs    1f
    SKIP    "LSE atomics", "ID_AA64ISAR0_EL1.Atomic < 2"
    b       9f
1:
    mov     x1, #10
    str     x1, [x19]
    mov     x2, #10                 // compare value
    mov     x3, #20                 // new value
    cas     x2, x3, [x19]
    CHECK   "CAS success returns the old value", x2, 10
    ldr     x1, [x19]
    CHECK   "CAS success stores", x1, 20
    mov     x2, #10
    mov     x3, #30
    casal   x2, x3, [x19]
    CHECK   "CASAL failure returns the current value", x2, 20
    ldr     x1, [x19]
    CHECK   "CASAL failure leaves memory", x1, 20

    ldr     x1, =0xaaaaaaaaaaaaaaaa
    str     x1, [x19]
    mov     w2, #0xaa
    mov     w3, #0x55
    casb    w2, w3, [x19]
    mov     w2, #0xaaaa
    mov     w3, #0x1234
    add     x5, x19, #2
    cash    w2, w3, [x5]
    ldr     x1, [x19]
    CHECK   "CASB/CASH: byte 0 and halfword 1 only", x1, 0xaaaaaaaa1234aa55

    ldr     x6, =0x1000
    ldr     x7, =0x2000
    stp     x6, x7, [x19]
    mov     x0, x6                  // compare pair
    mov     x1, x7
    ldr     x2, =0x3000             // new pair
    ldr     x3, =0x4000
    casp    x0, x1, x2, x3, [x19]
    CHECK   "CASP success: old low", x0, 0x1000
    CHECK   "CASP success: old high", x1, 0x2000
    ldp     x6, x7, [x19]
    CHECK   "CASP success: new low", x6, 0x3000
    CHECK   "CASP success: new high", x7, 0x4000
    mov     x0, #0
    mov     x1, #0
    mov     x2, #0
    mov     x3, #0
    caspal  x0, x1, x2, x3, [x19]
    CHECK   "CASPAL failure: current low", x0, 0x3000
    CHECK   "CASPAL failure: current high", x1, 0x4000
    ldp     x6, x7, [x19]
    CHECK   "CASPAL failure: memory unchanged", x6, 0x3000

    mov     x1, #1000
    str     x1, [x19]
    mov     x2, #234
    ldadd   x2, x3, [x19]
    CHECK   "LDADD returns the old value", x3, 1000
    ldr     x1, [x19]
    CHECK   "LDADD stores the sum", x1, 1234
    mov     x2, #-1234
    ldaddal x2, x3, [x19]
    ldr     x1, [x19]
    CHECK   "LDADDAL to zero", x1, 0
    mov     w2, #0xffff
    ldaddh  w2, w3, [x19]           // 16-bit wrap
    mov     w2, #2
    ldaddh  w2, w3, [x19]
    ldr     x1, [x19]
    CHECK   "LDADDH wraps at 16 bits", x1, 1

    ldr     x1, =0xff00ff00ff00ff00
    str     x1, [x19]
    ldr     x2, =0x0ff00ff00ff00ff0
    ldclr   x2, x3, [x19]
    ldr     x1, [x19]
    CHECK   "LDCLR", x1, 0xf000f000f000f000
    mov     x2, #0xff
    ldset   x2, x3, [x19]
    CHECK   "LDSET returns the old value", x3, 0xf000f000f000f000
    ldr     x1, [x19]
    CHECK   "LDSET", x1, 0xf000f000f000f0ff
    mov     x2, #0xf0ff
    ldeor   x2, x3, [x19]
    ldr     x1, [x19]
    CHECK   "LDEOR", x1, 0xf000f000f0000000

    mov     x1, #-5
    str     x1, [x19]
    mov     x2, #3
    ldsmax  x2, x3, [x19]
    ldr     x1, [x19]
    CHECK   "LDSMAX(-5, 3) = 3", x1, 3
    mov     x2, #-1                 // unsigned: largest
    ldumin  x2, x3, [x19]
    ldr     x1, [x19]
    CHECK   "LDUMIN(3, 0xff..ff) = 3", x1, 3

    mov     x2, #77
    swp     x2, x3, [x19]
    CHECK   "SWP returns the old value", x3, 3
    mov     x2, #88
    swpal   x2, x3, [x19]
    CHECK   "SWPAL returns the previous SWP value", x3, 77
    mov     x2, #12
    stadd   x2, [x19]
    ldr     x1, [x19]
    CHECK   "STADD", x1, 100
9:

    // ------------------------------------------------------------ acquire / release
    ldr     x1, =0x5a5a5a5a5a5a5a5a
    stlr    x1, [x19]
    ldar    x2, [x19]
    CHECK   "STLR/LDAR", x2, 0x5a5a5a5a5a5a5a5a
    mov     w1, #0x1234
    add     x5, x19, #2
    stlrh   w1, [x5]
    ldarb   w2, [x5]
    CHECK   "STLRH/LDARB", x2, 0x34
    ldr     x1, [x19]
    CHECK   "STLRH wrote one halfword", x1, 0x5a5a5a5a12345a5a
    mrs     x1, id_aa64isar1_el1
    ubfx    x1, x1, #20, #4
    cbnz    x1, 1f
    SKIP    "LDAPR", "no FEAT_LRCPC"
    b       2f
1:  ldapr   x2, [x19]
    CHECK   "LDAPR", x2, 0x5a5a5a5a12345a5a
2:

    // ------------------------------------------------------------ barriers
    dmb     ish
    dmb     ishst
    dmb     ishld
    dmb     sy
    dsb     sy
    dsb     ish
    dsb     nsh
    isb
    PASS    "DMB/DSB/ISB execute"

    ldp     x29, x30, [sp], #16
    ret

    .ltorg

    .bss
    .balign 64
words:      .skip 64
