/*
 * mmu.S -- VMSAv8-64 stage-1 translation at EL1 (TTBR0_EL1 only).
 *
 * Arm ARM references: D8 "The AArch64 Virtual Memory System Architecture"
 * (translation granules and lookup levels, descriptor formats, access
 * permissions AP[2:1]/PXN/UXN, the access flag, TLB maintenance), D17.2
 * TCR_EL1 / MAIR_EL1 / PAR_EL1, the AT S1E1R/S1E1W and TLBI VAE1/VMALLE1
 * system instructions (C5), D17.2.37 ESR_EL1 data/instruction abort ISS
 * (DFSC 0b0001LL translation, 0b0010LL access flag, 0b0011LL permission
 * fault at level LL).
 *
 * 4 KiB granule, T0SZ = 25 (39-bit VA, walk from level 1), TCR_EL1.HA = 0:
 *   identity: VA 0x09000000 (UART) 2 MiB block Device-nGnRnE XN;
 *             0x40000000-0x401fffff 4 KiB pages (image, tables, stack),
 *             0x40200000-0x47ffffff 2 MiB blocks, Normal WB, Inner Shareable.
 *   test region VA 0x80000000 (L1[2] -> L2 -> L3):
 *     +0x0000 -> page_a RW       +0x1000 -> page_b read-only (AP[2:1]=10)
 *     +0x2000 invalid            +0x3000 -> page_c with AF=0
 *     +0x4000 -> page_a PXN+UXN  +0x5000 -> page_a, remapped to page_b
 *     VA 0x80200000: 2 MiB block -> PA 0x40000000
 *     VA 0x80400000: L2 entry invalid; VA 0xc0000000: L1 entry invalid
 * Checks: MMU on (SCTLR_EL1.M) and execution continues, identity data,
 * remapped page, write through one VA visible through the identity alias,
 * 2 MiB block; AT S1E1R/S1E1W -> PAR_EL1 (PA, ATTR, SH; F=1 with FST for an
 * invalid and a read-only page); data aborts (EC 0x25, FAR = VA): level 3
 * translation fault, permission fault on write (WnR=1), access flag fault
 * then AF set + TLBI VAE1 -> access works, level 2 and level 1 translation
 * faults, level 0 translation fault for a VA above the 39-bit range;
 * instruction aborts (EC 0x21, ELR = FAR = VA): execute-never permission
 * fault, translation fault; TLBI VAE1 after rewriting a PTE makes the new
 * mapping visible.
 * Then 16 KiB and 64 KiB granules (if ID_AA64MMFR0_EL1.TGran16/TGran64 say
 * so, else "(skipped: ...)"): identity map with 32 MiB / 512 MiB blocks,
 * VA 0x80000000 -> a test page through a level-3 table: MMU on, read at
 * page offset (size - 8) comes from the same page, AT S1E1R PA, the next
 * page is invalid (level 3 translation fault).
 */
#include "lib/guest.h"

#define TVA         0x80000000
#define PAT_A       0xa0a0a0a000000001
#define PAT_B       0xb0b0b0b000000002
#define PAT_C       0xc0c0c0c000000003
#define PAT_16      0x1616161600000016
#define PAT_16_END  0x16161616ffffffff
#define PAT_64      0x6464646400000064
#define PAT_64_END  0x64646464ffffffff

/* descriptor bits */
#define D_VALID     1
#define D_TABLE     3               /* table (levels 0-2) or page (level 3) */
#define D_ATTR(n)   ((n) << 2)
#define D_AP_RO     (2 << 6)        /* AP[2:1] = 10: read-only, EL1 only */
#define D_SH_INNER  (3 << 8)
#define D_AF        (1 << 10)
#define D_PXN       (1 << 53)
#define D_UXN       (1 << 54)
#define NORMAL      (D_ATTR(1) | D_SH_INNER | D_AF)
#define DEVICE      (D_ATTR(0) | D_AF | D_PXN | D_UXN)

#define TCR_COMMON  (25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32))
#define TCR_TG0_4K  (0 << 14)
#define TCR_TG0_64K (1 << 14)
#define TCR_TG0_16K (2 << 14)

#define PAR_MASK_OK 0xff0000fffffff181  /* ATTR, PA[47:12], SH, F */

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x0, =page_a
    ldr     x1, =PAT_A
    str     x1, [x0]
    ldr     x0, =page_b
    ldr     x1, =PAT_B
    str     x1, [x0]
    ldr     x0, =page_c
    ldr     x1, =PAT_C
    str     x1, [x0]
    ldr     x0, =0x0444ff00         // MAIR: 0 Device-nGnRnE, 1 Normal WB, 2 NC, 3 nGnRE
    msr     mair_el1, x0
    bl      build_4k

    ldr     x0, =(TCR_COMMON | TCR_TG0_4K)
    ldr     x1, =l1_4k
    bl      mmu_switch
    mrs     x1, sctlr_el1
    CHECKM  "4K: SCTLR_EL1.M set, executing through the identity map", x1, 1, 1
    ldr     x0, =ident_probe
    ldr     x1, [x0]
    CHECK   "4K: identity-mapped data", x1, 0x1122334455667788

    // ------------------------------------------------------------ remap, alias, block
    ldr     x0, =TVA
    ldr     x1, [x0]
    CHECK   "4K: VA 0x80000000 reads page_a", x1, PAT_A
    mov     x2, #0x5151
    str     x2, [x0, #8]
    ldr     x3, =page_a
    ldr     x4, [x3, #8]
    CHECK   "4K: store via VA visible through the identity alias", x4, 0x5151
    ldr     x0, =(TVA + 0x200000 + 0x80000)
    ldr     w1, [x0]
    ldr     x2, =IMAGE_BASE
    ldr     w3, [x2]
    CHECKR  "4K: 2 MiB block VA 0x80280000 = PA 0x40080000", x1, x3

    // ------------------------------------------------------------ AT
    ldr     x0, =TVA
    at      s1e1r, x0
    isb
    mrs     x1, par_el1
    ldr     x2, =(page_a + 0xff00000000000000 + (3 << 7))
    CHECKMR "4K: AT S1E1R PAR = page_a, ATTR 0xff, SH inner", x1, PAR_MASK_OK, x2
    ldr     x0, =UART0
    at      s1e1r, x0
    isb
    mrs     x1, par_el1
    CHECKM  "4K: AT S1E1R on the UART: PA, ATTR 0x00 (Device-nGnRnE)", x1, 0xff0000fffffff001, UART0
    ldr     x0, =(TVA + 0x2000)
    at      s1e1r, x0
    isb
    mrs     x1, par_el1
    CHECKM  "4K: AT S1E1R invalid page: F=1, FST level 3 translation", x1, 0x7f, ((0x07 << 1) | 1)
    ldr     x0, =(TVA + 0x1000)
    at      s1e1w, x0
    isb
    mrs     x1, par_el1
    CHECKM  "4K: AT S1E1W read-only page: F=1, FST level 3 permission", x1, 0x7f, ((0x0f << 1) | 1)
    at      s1e1r, x0
    isb
    mrs     x1, par_el1
    ldr     x2, =page_b
    CHECKMR "4K: AT S1E1R read-only page: PA = page_b", x1, 0x0000fffffffff001, x2

    // ------------------------------------------------------------ data aborts
    ldr     x20, =(TVA + 0x2000)
    TRY     1f
dab_l3:
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "4K: read of an invalid page: EC=0x25, ELR", EC_DABT_CUR, dab_l3
    LDEXC   x1, esr
    CHECKM  "4K: invalid page: DFSC level 3 translation, WnR=0", x1, 0x7ff, 0x07
    LDEXC   x1, far
    CHECKR  "4K: invalid page: FAR = VA", x1, x20

    ldr     x20, =(TVA + 0x1008)
    ldr     x1, [x20, #-8]
    CHECK   "4K: read-only page is readable", x1, PAT_B
    TRY     1f
dab_perm:
    str     x1, [x20]
1:  ENDTRY
    EXC_CHECK "4K: write to a read-only page: EC=0x25, ELR", EC_DABT_CUR, dab_perm
    LDEXC   x1, esr
    CHECKM  "4K: read-only page: DFSC level 3 permission, WnR=1", x1, 0x7ff, 0x4f
    LDEXC   x1, far
    CHECKR  "4K: read-only page: FAR = VA", x1, x20

    ldr     x20, =(TVA + 0x3000)
    TRY     1f
dab_af:
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "4K: access with AF=0, TCR.HA=0: EC=0x25, ELR", EC_DABT_CUR, dab_af
    LDEXC   x1, esr
    CHECKM  "4K: AF=0: DFSC level 3 access flag", x1, 0x7ff, 0x0b
    LDEXC   x1, far
    CHECKR  "4K: AF=0: FAR = VA", x1, x20
    ldr     x0, =l3_test
    ldr     x1, [x0, #(3 * 8)]
    orr     x1, x1, #D_AF
    str     x1, [x0, #(3 * 8)]
    dsb     ishst
    lsr     x2, x20, #12
    tlbi    vae1, x2
    dsb     ish
    isb
    ldr     x1, [x20]
    CHECK   "4K: after setting AF: page_c readable", x1, PAT_C

    ldr     x20, =(TVA + 0x400000)
    TRY     1f
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "4K: invalid level 2 entry: EC=0x25", EC_DABT_CUR
    LDEXC   x1, esr
    CHECKM  "4K: DFSC level 2 translation", x1, 0x7ff, 0x06
    LDEXC   x1, far
    CHECKR  "4K: level 2 fault FAR", x1, x20

    ldr     x20, =0xc0000000
    TRY     1f
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "4K: invalid level 1 entry: EC=0x25", EC_DABT_CUR
    LDEXC   x1, esr
    CHECKM  "4K: DFSC level 1 translation", x1, 0x7ff, 0x05
    LDEXC   x1, far
    CHECKR  "4K: level 1 fault FAR", x1, x20

    mov     x20, #(1 << 39)
    TRY     1f
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "4K: VA above the 39-bit TTBR0 range: EC=0x25", EC_DABT_CUR
    LDEXC   x1, esr
    CHECKM  "4K: out-of-range VA: DFSC level 0 translation", x1, 0x7ff, 0x04
    LDEXC   x1, far
    CHECKR  "4K: out-of-range VA: FAR", x1, x20

    // ------------------------------------------------------------ instruction aborts
    ldr     x20, =(TVA + 0x4000)
    TRY     1f
    blr     x20
1:  ENDTRY
    EXC_CHECK "4K: execute from a PXN page: EC=0x21", EC_IABT_CUR
    LDEXC   x1, esr
    CHECKM  "4K: PXN page: IFSC level 3 permission", x1, 0x7ff, 0x0f
    LDEXC   x1, elr
    CHECKR  "4K: PXN page: ELR = VA", x1, x20
    LDEXC   x1, far
    CHECKR  "4K: PXN page: FAR = VA", x1, x20
    ldr     x20, =(TVA + 0x2000)
    TRY     1f
    blr     x20
1:  ENDTRY
    EXC_CHECK "4K: execute from an invalid page: EC=0x21", EC_IABT_CUR
    LDEXC   x1, esr
    CHECKM  "4K: invalid page: IFSC level 3 translation", x1, 0x7ff, 0x07
    LDEXC   x1, far
    CHECKR  "4K: invalid page fetch: FAR = VA", x1, x20

    // ------------------------------------------------------------ TLBI after a PTE change
    ldr     x20, =(TVA + 0x5000)
    ldr     x1, [x20]               // the TLB may now hold VA -> page_a
    CHECK   "4K: VA 0x80005000 reads page_a", x1, PAT_A
    ldr     x0, =l3_test
    ldr     x1, =(page_b + (D_TABLE | NORMAL))
    str     x1, [x0, #(5 * 8)]
    dsb     ishst
    lsr     x2, x20, #12
    tlbi    vae1, x2
    dsb     ish
    isb
    ldr     x1, [x20]
    CHECK   "4K: PTE -> page_b, TLBI VAE1: new mapping visible", x1, PAT_B

    bl      mmu_off
    mrs     x1, sctlr_el1
    CHECKM  "4K: MMU off again", x1, 1, 0

    // ------------------------------------------------------------ 16 KiB granule
    mrs     x1, id_aa64mmfr0_el1
    ubfx    x1, x1, #20, #4         // TGran16: 0 = not supported
    cbnz    x1, 1f
    SKIP    "16K granule", "ID_AA64MMFR0_EL1.TGran16 = 0"
    b       9f
1:  bl      build_16k
    ldr     x0, =(TCR_COMMON | TCR_TG0_16K)
    ldr     x1, =gpool
    bl      mmu_switch
    ldr     x0, =ident_probe
    ldr     x1, [x0]
    CHECK   "16K: MMU on, identity data (32 MiB blocks)", x1, 0x1122334455667788
    ldr     x0, =TVA
    ldr     x1, [x0]
    CHECK   "16K: VA 0x80000000 reads the test page", x1, PAT_16
    ldr     x0, =(TVA + 0x3ff8)
    ldr     x1, [x0]
    CHECK   "16K: VA +0x3ff8 is in the same 16 KiB page", x1, PAT_16_END
    ldr     x0, =(TVA + 0x2000)
    at      s1e1r, x0
    isb
    mrs     x1, par_el1
    ldr     x2, =(gpool + 0x20000 + 0x2000)
    CHECKMR "16K: AT S1E1R PA", x1, 0x0000fffffffff001, x2
    ldr     x20, =(TVA + 0x4000)
    TRY     1f
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "16K: next page invalid: EC=0x25", EC_DABT_CUR
    LDEXC   x1, esr
    CHECKM  "16K: DFSC level 3 translation", x1, 0x7ff, 0x07
    LDEXC   x1, far
    CHECKR  "16K: FAR = VA", x1, x20
    bl      mmu_off
9:

    // ------------------------------------------------------------ 64 KiB granule
    mrs     x1, id_aa64mmfr0_el1
    ubfx    x1, x1, #24, #4         // TGran64: 0xf = not supported
    cmp     x1, #0xf
    b.ne    1f
    SKIP    "64K granule", "ID_AA64MMFR0_EL1.TGran64 = 0xf"
    b       9f
1:  bl      build_64k
    ldr     x0, =(TCR_COMMON | TCR_TG0_64K)
    ldr     x1, =gpool
    bl      mmu_switch
    ldr     x0, =ident_probe
    ldr     x1, [x0]
    CHECK   "64K: MMU on, identity data (512 MiB blocks)", x1, 0x1122334455667788
    ldr     x0, =TVA
    ldr     x1, [x0]
    CHECK   "64K: VA 0x80000000 reads the test page", x1, PAT_64
    ldr     x0, =(TVA + 0xfff8)
    ldr     x1, [x0]
    CHECK   "64K: VA +0xfff8 is in the same 64 KiB page", x1, PAT_64_END
    ldr     x0, =(TVA + 0x8000)
    at      s1e1r, x0
    isb
    mrs     x1, par_el1
    ldr     x2, =(gpool + 0x20000 + 0x8000)
    CHECKMR "64K: AT S1E1R PA", x1, 0x0000fffffffff001, x2
    ldr     x20, =(TVA + 0x10000)
    TRY     1f
    ldr     x1, [x20]
1:  ENDTRY
    EXC_CHECK "64K: next page invalid: EC=0x25", EC_DABT_CUR
    LDEXC   x1, esr
    CHECKM  "64K: DFSC level 3 translation", x1, 0x7ff, 0x07
    LDEXC   x1, far
    CHECKR  "64K: FAR = VA", x1, x20
    bl      mmu_off
9:
    ldp     x29, x30, [sp], #16
    ret

/* ------------------------------------------------------------ helpers */
/* mmu_switch: x0 = TCR_EL1, x1 = TTBR0_EL1.  MMU off, new TCR/TTBR0,
 * TLBI VMALLE1, MMU (and caches) on.  Clobbers x0-x2. */
mmu_switch:
    mrs     x2, sctlr_el1
    bic     x2, x2, #1
    msr     sctlr_el1, x2
    isb
    dsb     ish
    msr     tcr_el1, x0
    msr     ttbr0_el1, x1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mov     x0, #((1 << 0) | (1 << 2) | (1 << 12))     // M, C, I
    orr     x2, x2, x0
    msr     sctlr_el1, x2
    isb
    ret

/* mmu_off: SCTLR_EL1.M = 0.  Clobbers x2. */
mmu_off:
    mrs     x2, sctlr_el1
    bic     x2, x2, #1
    msr     sctlr_el1, x2
    isb
    ret

/* build_4k: the 4 KiB-granule tables described in the header. */
build_4k:
    ldr     x0, =l1_4k
    ldr     x1, =l2_low
    orr     x1, x1, #D_TABLE
    str     x1, [x0, #(0 * 8)]
    ldr     x1, =l2_ram
    orr     x1, x1, #D_TABLE
    str     x1, [x0, #(1 * 8)]
    ldr     x1, =l2_test
    orr     x1, x1, #D_TABLE
    str     x1, [x0, #(2 * 8)]
    // low GiB: UART 2 MiB block, Device, XN
    ldr     x0, =l2_low
    ldr     x1, =(UART0 | DEVICE | D_VALID)
    str     x1, [x0, #((UART0 >> 21) * 8)]
    // RAM GiB: L2[0] -> l3_ram (identity 4 KiB pages), L2[1..63] 2 MiB blocks
    ldr     x0, =l2_ram
    ldr     x1, =l3_ram
    orr     x1, x1, #D_TABLE
    str     x1, [x0]
    ldr     x1, =(0x40200000 | NORMAL | D_VALID)
    mov     x2, #63
    add     x3, x0, #8
1:  str     x1, [x3], #8
    add     x1, x1, #0x200000
    subs    x2, x2, #1
    b.ne    1b
    ldr     x0, =l3_ram
    ldr     x1, =(RAM_BASE | NORMAL | D_TABLE)
    mov     x2, #512
1:  str     x1, [x0], #8
    add     x1, x1, #0x1000
    subs    x2, x2, #1
    b.ne    1b
    // test region
    ldr     x0, =l2_test
    ldr     x1, =l3_test
    orr     x1, x1, #D_TABLE
    str     x1, [x0, #(0 * 8)]
    ldr     x1, =(RAM_BASE | NORMAL | D_VALID)
    str     x1, [x0, #(1 * 8)]      // VA 0x80200000: 2 MiB block -> 0x40000000
    ldr     x0, =l3_test
    ldr     x1, =(page_a + (D_TABLE | NORMAL))
    str     x1, [x0, #(0 * 8)]
    ldr     x1, =(page_b + (D_TABLE | NORMAL | D_AP_RO))
    str     x1, [x0, #(1 * 8)]
    ldr     x1, =(page_c + (D_TABLE | D_ATTR(1) | D_SH_INNER))   // AF = 0
    str     x1, [x0, #(3 * 8)]
    ldr     x1, =(page_a + (D_TABLE | NORMAL | D_PXN | D_UXN))
    str     x1, [x0, #(4 * 8)]
    ldr     x1, =(page_a + (D_TABLE | NORMAL))
    str     x1, [x0, #(5 * 8)]
    dsb     ish
    ret

/* clear_gpool: zero gpool[0 .. 0x20000) (tables) and set up the test page
 * at gpool + 0x20000: x0 = first quadword, x1 = quadword at offset x2. */
clear_gpool:
    ldr     x3, =gpool
    add     x4, x3, #0x20000
1:  stp     xzr, xzr, [x3], #16
    cmp     x3, x4
    b.lo    1b
    str     x0, [x4]
    str     x1, [x4, x2]
    ret

/* build_16k: 16 KiB granule, T0SZ=25 -> walk from level 1 (8 entries).
 *   L1 @ gpool, L2 @ gpool+0x4000 (32 MiB blocks), L3 @ gpool+0x10000,
 *   test page @ gpool+0x20000. */
build_16k:
    mov     x9, x30
    ldr     x0, =PAT_16
    ldr     x1, =PAT_16_END
    mov     x2, #0x3ff8
    bl      clear_gpool
    ldr     x0, =gpool
    add     x1, x0, #0x4000         // L2
    orr     x2, x1, #D_TABLE
    str     x2, [x0]                // L1[0]: VA 0 .. 64 GiB
    ldr     x2, =(0x08000000 | DEVICE | D_VALID)
    str     x2, [x1, #((0x08000000 >> 25) * 8)]     // GIC + UART
    ldr     x2, =(RAM_BASE | NORMAL | D_VALID)
    add     x3, x1, #((RAM_BASE >> 25) * 8)
    mov     x4, #4                  // 128 MiB
    mov     x5, #0x2000000
1:  str     x2, [x3], #8
    add     x2, x2, x5
    subs    x4, x4, #1
    b.ne    1b
    add     x3, x0, #0x10000        // L3
    orr     x2, x3, #D_TABLE
    str     x2, [x1, #((TVA >> 25) * 8)]
    ldr     x2, =(gpool + 0x20000 + (D_TABLE | NORMAL))
    str     x2, [x3]                // L3[0] -> test page; L3[1] invalid
    dsb     ish
    ret     x9

/* build_64k: 64 KiB granule, T0SZ=25 -> walk from level 2 (1024 entries).
 *   L2 @ gpool (512 MiB blocks), L3 @ gpool+0x10000, page @ gpool+0x20000. */
build_64k:
    mov     x9, x30
    ldr     x0, =PAT_64
    ldr     x1, =PAT_64_END
    mov     x2, #0xfff8
    bl      clear_gpool
    ldr     x0, =gpool
    ldr     x2, =(0x00000000 | DEVICE | D_VALID)
    str     x2, [x0, #(0 * 8)]      // 0 .. 512 MiB: GIC, UART
    ldr     x2, =(RAM_BASE | NORMAL | D_VALID)
    str     x2, [x0, #((RAM_BASE >> 29) * 8)]
    add     x3, x0, #0x10000        // L3
    orr     x2, x3, #D_TABLE
    str     x2, [x0, #((TVA >> 29) * 8)]
    ldr     x2, =(gpool + 0x20000 + (D_TABLE | NORMAL))
    str     x2, [x3]                // L3[0] -> test page; L3[1] invalid
    dsb     ish
    ret     x9

    .ltorg

    .data
    .balign 8
ident_probe: .quad 0x1122334455667788

    .bss
    .balign 4096
l1_4k:      .skip 4096
l2_low:     .skip 4096
l2_ram:     .skip 4096
l3_ram:     .skip 4096
l2_test:    .skip 4096
l3_test:    .skip 4096
page_a:     .skip 4096
page_b:     .skip 4096
page_c:     .skip 4096
    .balign 65536
gpool:      .skip 0x30000
