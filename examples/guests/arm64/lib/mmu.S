/*
 * lib/mmu.S -- minimal stage-1 identity map for guests that want Normal
 * memory (exclusives and atomics across CPUs) rather than the Device-nGnRnE
 * attributes that every data access gets with the MMU off (Arm ARM D8,
 * "The effects of disabling an address translation stage").
 *
 *   mmu_identity_build   (boot CPU, once) fills ident_l1: 4 KiB granule,
 *                        T0SZ = 25 (39-bit VA, walk starts at level 1),
 *                        VA 0x00000000-0x3fffffff -> 1 GiB block, Device-nGnRnE
 *                        (GIC, UART), VA 0x40000000-0x7fffffff -> 1 GiB block,
 *                        Normal write-back, Inner Shareable (RAM).
 *   mmu_identity_enable  (every CPU) MAIR_EL1, TCR_EL1, TTBR0_EL1 =
 *                        ident_l1, TLBI VMALLE1, SCTLR_EL1.{M,C,I} = 1.
 * Both preserve every register but x0-x2 and NZCV.
 *
 * MAIR_EL1 attribute indexes used by every guest (Arm ARM D17.2 MAIR_EL1):
 *   0 = 0x00 Device-nGnRnE, 1 = 0xff Normal WB RW-allocate,
 *   2 = 0x44 Normal Non-cacheable, 3 = 0x04 Device-nGnRE.
 */
#include "guest.h"

    .text
    .global mmu_identity_build, mmu_identity_enable
mmu_identity_build:
    ldr     x0, =ident_l1
    ldr     x1, =(0x00000000 | (1 << 10) | (0 << 2) | 1)            // AF, attr 0, block
    str     x1, [x0, #0]
    ldr     x1, =(0x40000000 | (1 << 10) | (3 << 8) | (1 << 2) | 1) // AF, ISH, attr 1, block
    str     x1, [x0, #8]
    dsb     ish
    ret

mmu_identity_enable:
    ldr     x0, =0x0444ff00                  // attr3..0 = 04 44 ff 00
    msr     mair_el1, x0
    // TCR_EL1 (Arm ARM D17.2): T0SZ=25, IRGN0=ORGN0=WB-WA (01), SH0=Inner (11),
    // TG0=4 KiB (00), EPD1=1 (no TTBR1 walks), IPS=0b010 (40-bit PA)
    ldr     x0, =(25 | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | (1 << 23) | (2 << 32))
    msr     tcr_el1, x0
    ldr     x0, =ident_l1
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x0, sctlr_el1
    mov     x1, #((1 << 0) | (1 << 2) | (1 << 12))                  // M, C, I
    orr     x0, x0, x1
    msr     sctlr_el1, x0
    isb
    ret

    .ltorg

    .bss
    .balign 4096
    .global ident_l1
ident_l1:   .skip 4096
