/*
 * stage2.S -- stage-2 translation of an EL1 guest, run by this image at EL2.
 *
 * Needs EL2 at entry: QEMU `-M virt,virtualization=on` (chimera: VirtConfig /
 * `-M virt,virtualization=on`). PSCI is then on the SMC conduit: `done`'s
 * HVC #0 from EL2 lands in this image's EL2 vectors, which issue SMC #0.
 * Entered at EL1, every check is skipped.
 *
 * Arm ARM references: D8 "The AArch64 Virtual Memory System Architecture"
 * (stage 2 translation: VTCR_EL2.{T0SZ,SL0,TG0,PS}, concatenated level-1
 * tables, the stage 2 descriptor MemAttr/S2AP/XN fields, stage 1 table walks
 * translated by stage 2, combined attributes, VMIDs, hardware Access flag and
 * dirty state), D17.2.48 HCR_EL2.VM, D17.2.66 HPFAR_EL2 (FIPA = IPA[47:12] in
 * bits 39:4 here), D17.2.37 ESR_EL2 (EC 0x24/0x20 from a lower EL, ISS DFSC,
 * WnR, S1PTW, and ISV/SAS/SSE/SRT/SF for single-register loads and stores), D17.2.115 PAR_EL1 (F, FST, PTW bit 8, S bit 9), C5.5 AT
 * S1E1R/S12E1R/S12E1W and TLBI IPAS2E1IS/VMALLE1IS, D17 CNTHCTL_EL2.EL1PCTEN.
 *
 * Stage 2 (VMID 5, 4 KiB granule, 40-bit IPA, start level 1 with two
 * concatenated level-1 tables):
 *   IPA 0x00000000 1 GiB Device-nGnRE block -> PA 0 (UART for the EL1 vectors)
 *   IPA 0x40000000-0x47ffffff 2 MiB blocks, identity (image, tables, stacks)
 *   IPA 0x50000000 L3 table: +0x0000 -> page_a RW, +0x1000 -> page_b read-only,
 *        +0x2000 invalid, +0x3000 -> page_a XN, +0x4000 -> page_a with AF = 0
 *   IPA 0x80000000-0xbfffffff: no entry (level 1 translation fault)
 * The EL1 guest runs probes (one access, then HVC #0 back to EL2). EL2 records
 * ESR/FAR/HPFAR/ELR_EL2 of whatever ended the probe.
 * Stage 1 at EL1 (T0SZ 25): VA 0x40000000 1 GiB block -> IPA 0x40000000;
 * VA 0x80000000 -> level-2 table at IPA 0x50002000 (not mapped at stage 2:
 * S1PTW fault); VA 0xc0000000 -> L2 -> L3: +0x0000 -> IPA 0x50000000,
 * +0x1000 -> IPA 0x50001000, +0x4000 -> IPA 0x50004000, +0x5000 -> IPA
 * 0x50000000 writable-clean (DBM = 1, AP[2] = 1).
 */
#include "lib/guest.h"

#define IPA_T       0x50000000
#define PAT_A       0xa0a0a0a000000001
#define PAT_B       0xb0b0b0b000000002

/* stage 2 descriptors: MemAttr Normal WB (0xf << 2), S2AP RW (3 << 6) or RO
 * (1 << 6), SH inner (3 << 8), AF (1 << 10), XN (1 << 54) */
#define S2_BLOCK_RW 0x7fd
#define S2_PAGE_RW  0x7ff
#define S2_PAGE_RO  0x77f
#define S2_PAGE_NOAF 0x3ff
#define S2_DEV_BLOCK 0x4c5          /* MemAttr 0b0001 Device-nGnRE, RW, AF */
#define S2_XN       (1 << 54)
/* stage 1: AttrIndx 0 (MAIR 0xff), SH inner, AF; page or block */
#define S1_PAGE     0x703
#define S1_BLOCK    0x701
#define S1_DBM      (1 << 51)
#define S1_AP_RO    (2 << 6)

#define VTCR_VAL    0x80023558      /* RES1 | PS 40 bits | SH0 inner | ORGN0/IRGN0 WB | SL0 1 | T0SZ 24 */
#define VMID5       (5 << 48)
#define VMID6       (6 << 48)
#define HCR_RW_VM   0x80000001
#define TCR_EL1_VAL 0x200803519     /* IPS 40 | EPD1 | SH0 inner | WB | T0SZ 25 */
#define SCTLR_EL1_OFF 0x30d00800
#define ISS_MASK    0x7ff           /* DFSC, WnR, S1PTW, CM, EA, FnV */
#define PAR_OK_MASK 0x0000fffffffff001
#define PAR_F_MASK  0x3ff

/* call_el1 probe, arg0, arg1: run `probe` at EL1 -> x0 = ESR_EL2 of its exit */
.macro CALL1 probe, a0, a1
    ldr     x0, =\probe
    ldr     x1, =\a0
    ldr     x2, =\a1
    bl      call_el1
.endm

.macro LDX reg, field
    ldr     \reg, =exit_\field
    ldr     \reg, [\reg]
.endm

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    mrs     x0, CurrentEL
    cmp     x0, #8
    b.eq    1f
    SKIP    "stage 2", "not entered at EL2"
    b       99f
1:  CHECK   "CurrentEL = EL2", x0, 8
    ldr     x0, =el2_vectors
    msr     vbar_el2, x0
    isb
    // page contents
    ldr     x0, =page_a
    ldr     x1, =PAT_A
    str     x1, [x0]
    ldr     x0, =page_b
    ldr     x1, =PAT_B
    str     x1, [x0]
    // stage 2 tables, VMID 5 (IPA_T -> page_a) and VMID 6 (IPA_T -> page_b)
    ldr     x0, =s2a_l1
    ldr     x1, =s2a_l2
    ldr     x2, =s2a_l3
    ldr     x3, =page_a
    bl      build_s2
    ldr     x0, =s2b_l1
    ldr     x1, =s2b_l2
    ldr     x2, =s2b_l3
    ldr     x3, =page_b
    bl      build_s2
    bl      build_s1
    // EL1 state: MMU off, stack, vectors of lib/base.S
    ldr     x0, =SCTLR_EL1_OFF
    msr     sctlr_el1, x0
    ldr     x0, =el1_stack_top
    msr     sp_el1, x0
    // stage 2 on
    ldr     x0, =VTCR_VAL
    msr     vtcr_el2, x0
    ldr     x0, =(VMID5)
    ldr     x1, =s2a_l1
    orr     x0, x0, x1
    msr     vttbr_el2, x0
    ldr     x0, =HCR_RW_VM
    msr     hcr_el2, x0
    isb
    tlbi    vmalls12e1
    dsb     sy
    isb

    // ---------------------------------------------------------- stage 1 off
    CALL1   probe_ldr, IPA_T, 0
    lsr     x1, x0, #26
    CHECK   "EL1 load from IPA 0x50000000 returns with HVC (EC 0x16)", x1, EC_HVC64
    LDX     x1, val
    CHECK   "stage 2 maps IPA 0x50000000 to page_a", x1, PAT_A
    CALL1   probe_ldr, (IPA_T + 0x1000), 0
    LDX     x1, val
    CHECK   "read-only IPA 0x50001000: load -> page_b", x1, PAT_B

    CALL1   probe_str, (IPA_T + 0x1000), 0x55
    lsr     x1, x0, #26
    CHECK   "store to read-only IPA: data abort to EL2, EC 0x24", x1, EC_DABT_LOW
    CHECKM  "store to read-only IPA: DFSC permission L3, WnR", x0, ISS_MASK, 0x4f
    CHECKM  "store to read-only IPA: ISV, SAS 3, SRT 1, SF (str x1)", x0, 0x1ffc000, 0x1c18000
    LDX     x1, far
    CHECK   "store to read-only IPA: FAR_EL2 = VA", x1, (IPA_T + 0x1000)
    LDX     x1, hpfar
    CHECK   "store to read-only IPA: HPFAR_EL2 = IPA[47:12] << 4", x1, 0x500010
    LDX     x1, elr
    ldr     x2, =probe_str
    CHECKR  "store to read-only IPA: ELR_EL2 = the store", x1, x2
    ldr     x1, =page_b
    ldr     x1, [x1]
    CHECK   "store to read-only IPA: memory unchanged", x1, PAT_B

    CALL1   probe_ldr, (IPA_T + 0x2000), 0
    CHECKM  "invalid stage 2 page: DFSC translation L3", x0, ISS_MASK, 0x07
    CHECKM  "invalid stage 2 page: ISV, SAS 3, SRT 17, SF (ldr x17)", x0, 0x1ffc000, 0x1d18000
    LDX     x1, hpfar
    CHECK   "invalid stage 2 page: HPFAR_EL2", x1, 0x500020
    CALL1   probe_ldr, 0x90000008, 0
    CHECKM  "no level 1 entry (IPA 0x90000008): DFSC translation L1", x0, ISS_MASK, 0x05
    LDX     x1, hpfar
    CHECK   "no level 1 entry: HPFAR_EL2", x1, 0x900000
    LDX     x1, far
    CHECK   "no level 1 entry: FAR_EL2", x1, 0x90000008

    CALL1   probe_br, (IPA_T + 0x3000), 0
    lsr     x1, x0, #26
    CHECK   "fetch from stage 2 XN page: instruction abort, EC 0x20", x1, EC_IABT_LOW
    CHECKM  "fetch from stage 2 XN page: IFSC permission L3", x0, 0x3f, 0x0f
    LDX     x1, elr
    CHECK   "fetch from stage 2 XN page: ELR_EL2", x1, (IPA_T + 0x3000)
    LDX     x1, far
    CHECK   "fetch from stage 2 XN page: FAR_EL2", x1, (IPA_T + 0x3000)
    LDX     x1, hpfar
    CHECK   "fetch from stage 2 XN page: HPFAR_EL2", x1, 0x500030

    // CNTHCTL_EL2.EL1PCTEN = 0 traps EL1 reads of CNTPCT_EL0 to EL2 (EC 0x18).
    mov     x0, #2
    msr     cnthctl_el2, x0
    isb
    CALL1   probe_cntpct, 0, 0
    lsr     x1, x0, #26
    CHECK   "CNTHCTL_EL2.EL1PCTEN = 0: EL1 CNTPCT_EL0 read traps to EL2 (EC 0x18)", x1, EC_SYSREG
    CHECKM  "CNTHCTL_EL2.EL1PCTEN = 0: ISS = MRS x17, CNTPCT_EL0", x0, 0x1ffffff, 0x32fa21
    mov     x0, #3
    msr     cnthctl_el2, x0
    isb
    CALL1   probe_cntpct, 0, 0
    lsr     x1, x0, #26
    CHECK   "CNTHCTL_EL2.EL1PCTEN = 1: EL1 reads CNTPCT_EL0", x1, EC_HVC64

    // ---------------------------------------------------------- stage 1 on
    ldr     x0, =0xff
    msr     mair_el1, x0
    ldr     x0, =TCR_EL1_VAL
    msr     tcr_el1, x0
    ldr     x0, =s1_l1
    msr     ttbr0_el1, x0
    ldr     x0, =(SCTLR_EL1_OFF | 1)
    msr     sctlr_el1, x0
    isb
    CALL1   probe_ldr, 0xc0000000, 0
    LDX     x1, val
    CHECK   "stage 1 + 2: VA 0xc0000000 -> IPA 0x50000000 -> page_a", x1, PAT_A
    CALL1   probe_at, 0xc0000000, 0
    LDX     x1, val
    CHECKM  "AT S1E1R at EL1: PAR_EL1 = IPA 0x50000000", x1, PAR_OK_MASK, IPA_T
    ldr     x0, =0xc0000000
    at      s12e1r, x0
    isb
    mrs     x1, par_el1
    ldr     x2, =page_a
    CHECKMR "AT S12E1R at EL2: PAR_EL1 = PA of page_a", x1, PAR_OK_MASK, x2
    ldr     x0, =0xc0001000
    at      s12e1w, x0
    isb
    mrs     x1, par_el1
    CHECKM  "AT S12E1W, stage 2 read-only: PAR F=1 FST=0x0f S=1", x1, PAR_F_MASK, 0x21f
    CALL1   probe_ldr, 0x80000010, 0
    lsr     x1, x0, #26
    CHECK   "stage 1 walk hits an unmapped IPA: EC 0x24", x1, EC_DABT_LOW
    // The lookup level is not compared: QEMU 7.2 reports the stage-1 level (2) of the
    // walk, the architecture the level of the stage-2 fault (3).
    CHECKM  "stage 1 walk hits an unmapped IPA: S1PTW, DFSC translation", x0, (ISS_MASK & ~3), 0x84
    CHECKM  "stage 1 walk hits an unmapped IPA: no instruction syndrome (ISV = 0)", x0, (1 << 24), 0
    LDX     x1, hpfar
    CHECK   "stage 1 walk hits an unmapped IPA: HPFAR_EL2 = table IPA", x1, 0x500020
    LDX     x1, far
    CHECK   "stage 1 walk hits an unmapped IPA: FAR_EL2 = VA", x1, 0x80000010

    // ---------------------------------------------------------- TLB maintenance
    ldr     x0, =s2a_l3
    ldr     x1, =page_b
    ldr     x2, =S2_PAGE_RW
    orr     x1, x1, x2
    str     x1, [x0]
    dsb     ishst
    ldr     x0, =(IPA_T >> 12)
    tlbi    ipas2e1is, x0
    dsb     ish
    tlbi    vmalle1is
    dsb     ish
    isb
    CALL1   probe_ldr, 0xc0000000, 0
    LDX     x1, val
    CHECK   "stage 2 remap + TLBI IPAS2E1IS, VMALLE1IS: VA 0xc0000000 -> page_b", x1, PAT_B
    // VMID 6: its own tables map IPA 0x50000000 to page_b... and VMID 5 now also does;
    // swap VMID 6's entry to page_a to tell them apart.
    ldr     x0, =s2b_l3
    ldr     x1, =page_a
    ldr     x2, =S2_PAGE_RW
    orr     x1, x1, x2
    str     x1, [x0]
    dsb     ish
    ldr     x0, =s2b_l1
    ldr     x1, =(VMID6)
    orr     x0, x0, x1
    msr     vttbr_el2, x0
    isb
    CALL1   probe_ldr, 0xc0000000, 0
    LDX     x1, val
    CHECK   "VMID 6 tables: VA 0xc0000000 -> page_a", x1, PAT_A
    ldr     x0, =s2a_l1
    ldr     x1, =(VMID5)
    orr     x0, x0, x1
    msr     vttbr_el2, x0
    isb
    CALL1   probe_ldr, 0xc0000000, 0
    LDX     x1, val
    CHECK   "back to VMID 5: VA 0xc0000000 -> page_b", x1, PAT_B

    // ---------------------------------------------------------- FEAT_HAFDBS
    mrs     x0, id_aa64mmfr1_el1
    and     x0, x0, #0xf
    cbnz    x0, 2f
    SKIP    "hardware Access flag and dirty state", "ID_AA64MMFR1_EL1.HAFDBS = 0"
    b       3f
2:  ldr     x0, =(VTCR_VAL | (1 << 21))  // VTCR_EL2.HA
    msr     vtcr_el2, x0
    isb
    tlbi    vmalls12e1
    dsb     sy
    isb
    CALL1   probe_ldr, 0xc0004000, 0
    lsr     x1, x0, #26
    CHECK   "VTCR_EL2.HA: access to an AF = 0 stage 2 page completes", x1, EC_HVC64
    ldr     x0, =s2a_l3
    ldr     x1, [x0, #32]
    CHECKM  "VTCR_EL2.HA: hardware set the stage 2 AF", x1, (1 << 10), (1 << 10)
    mrs     x0, id_aa64mmfr1_el1
    and     x0, x0, #0xf
    cmp     x0, #2
    b.hs    4f
    SKIP    "hardware dirty state", "ID_AA64MMFR1_EL1.HAFDBS = 1"
    b       3f
4:  ldr     x0, =(TCR_EL1_VAL | (3 << 39))  // TCR_EL1.HA, HD
    msr     tcr_el1, x0
    isb
    tlbi    vmalle1
    dsb     sy
    isb
    CALL1   probe_ldr, 0xc0005000, 0
    ldr     x0, =s1_l3
    ldr     x1, [x0, #40]
    CHECKM  "TCR_EL1.HD: a load leaves a writable-clean page clean", x1, S1_AP_RO, S1_AP_RO
    CALL1   probe_str, 0xc0005008, 0x66
    lsr     x1, x0, #26
    CHECK   "TCR_EL1.HD: store to a writable-clean page completes", x1, EC_HVC64
    ldr     x0, =s1_l3
    ldr     x1, [x0, #40]
    CHECKM  "TCR_EL1.HD: hardware cleared AP[2]", x1, S1_AP_RO, 0
    ldr     x0, =page_b
    ldr     x1, [x0, #8]
    CHECK   "TCR_EL1.HD: the store reached page_b", x1, 0x66
3:
    // stage 2 off again before `done`
    ldr     x0, =0x80000000
    msr     hcr_el2, x0
    isb
99: ldp     x29, x30, [sp], #16
    ret

/* build_s2: x0 = L1 (two concatenated 4 KiB tables), x1 = L2, x2 = L3,
 * x3 = PA for IPA 0x50000000.  Tables are zero (.bss). */
build_s2:
    ldr     x4, =S2_DEV_BLOCK
    str     x4, [x0]                    // L1[0]: IPA 0 -> PA 0, Device
    orr     x4, x1, #3
    str     x4, [x0, #8]                // L1[1] -> L2
    ldr     x4, =(RAM_BASE | S2_BLOCK_RW)
    mov     x5, #0
1:  str     x4, [x1, x5, lsl #3]        // L2[0..63]: identity 2 MiB blocks
    add     x4, x4, #0x200000
    add     x5, x5, #1
    cmp     x5, #64
    b.lo    1b
    orr     x4, x2, #3
    str     x4, [x1, #(128 * 8)]        // L2[128] (IPA 0x50000000) -> L3
    ldr     x5, =S2_PAGE_RW
    orr     x4, x3, x5
    str     x4, [x2]                    // +0x0000 -> x3
    ldr     x4, =page_b
    ldr     x5, =S2_PAGE_RO
    orr     x4, x4, x5
    str     x4, [x2, #8]                // +0x1000 -> page_b read-only
    ldr     x4, =page_a
    ldr     x5, =(S2_PAGE_RW | S2_XN)
    orr     x4, x4, x5
    str     x4, [x2, #24]               // +0x3000 -> page_a XN
    ldr     x4, =page_a
    ldr     x5, =S2_PAGE_NOAF
    orr     x4, x4, x5
    str     x4, [x2, #32]               // +0x4000 -> page_a, AF = 0
    ret

/* build_s1: the EL1 stage 1 tables (addresses are IPAs = PAs, identity). */
build_s1:
    ldr     x0, =s1_l1
    ldr     x1, =(RAM_BASE | S1_BLOCK)
    str     x1, [x0, #8]                // VA 0x40000000 -> IPA 0x40000000
    ldr     x1, =(IPA_T + 0x2000 + 3)
    str     x1, [x0, #16]               // VA 0x80000000 -> table at IPA 0x50002000
    ldr     x1, =s1_l2
    orr     x1, x1, #3
    str     x1, [x0, #24]               // VA 0xc0000000 -> L2
    ldr     x0, =s1_l2
    ldr     x1, =s1_l3
    orr     x1, x1, #3
    str     x1, [x0]
    ldr     x0, =s1_l3
    ldr     x1, =(IPA_T | S1_PAGE)
    str     x1, [x0]
    ldr     x1, =(IPA_T + 0x1000 + S1_PAGE)
    str     x1, [x0, #8]
    ldr     x1, =(IPA_T + 0x4000 + S1_PAGE)
    str     x1, [x0, #32]
    ldr     x1, =(IPA_T | S1_PAGE | S1_DBM | S1_AP_RO)
    str     x1, [x0, #40]
    ret

/* call_el1: x0 = EL1 function, x1/x2 = its x0/x1.  Runs it at EL1h (DAIF
 * masked) until it traps to EL2 (HVC #0 or a fault); returns x0 = ESR_EL2
 * and records exit_{val (the probe's x17), esr, far, hpfar, elr}. */
call_el1:
    stp     x29, x30, [sp, #-96]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    ldr     x16, =el2_saved_sp
    mov     x17, sp
    str     x17, [x16]
    msr     elr_el2, x0
    mov     x16, #(SPSR_DAIF | SPSR_EL1H)
    msr     spsr_el2, x16
    mov     x0, x1
    mov     x1, x2
    mov     x17, xzr
    eret

el2_exit:                               // from the lower-EL sync vector
    ldr     x16, =exit_val
    str     x17, [x16]
    ldr     x16, =exit_esr
    mrs     x17, esr_el2
    str     x17, [x16]
    mrs     x17, far_el2
    str     x17, [x16, #8]
    mrs     x17, hpfar_el2
    str     x17, [x16, #16]
    mrs     x17, elr_el2
    str     x17, [x16, #24]
    ldr     x16, =el2_saved_sp
    ldr     x17, [x16]
    mov     sp, x17
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ldr     x0, =exit_esr
    ldr     x0, [x0]
    ret

/* EL1 probes: one access, then HVC #0 (x17 = a loaded value). */
probe_ldr:
    ldr     x17, [x0]
    hvc     #0
probe_str:
    str     x1, [x0]
    hvc     #0
probe_br:
    br      x0
probe_cntpct:
    mrs     x17, cntpct_el0
    hvc     #0
probe_at:
    at      s1e1r, x0
    isb
    mrs     x17, par_el1
    hvc     #0

/* EL2 at the current EL: HVC #0 (lib/base.S `done` calling PSCI) becomes
 * SMC #0, the PSCI conduit with EL2 present; anything else is unexpected. */
el2_cur_sync:
    mrs     x16, esr_el2
    lsr     x16, x16, #26
    cmp     x16, #EC_HVC64
    b.ne    el2_unexpected
    smc     #0
    eret
el2_unexpected:
    PRINT   "FAIL: unexpected EL2 exception esr="
    mrs     x0, esr_el2
    bl      puthex
    PRINT   " elr="
    mrs     x0, elr_el2
    bl      puthex
    PRINT   "\n"
    ldr     x0, =nfail
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    ldr     x0, =0x80000000
    msr     hcr_el2, x0
    b       done

    .balign 2048
el2_vectors:
    .rept 4                              // current EL with SP_EL0
    b       el2_unexpected
    .balign 128
    .endr
    b       el2_cur_sync                 // current EL with SP_EL2: sync
    .balign 128
    .rept 3
    b       el2_unexpected
    .balign 128
    .endr
    b       el2_exit                     // lower EL AArch64: sync
    .balign 128
    .rept 7
    b       el2_unexpected
    .balign 128
    .endr
    .ltorg

    .data
    .balign 8
exit_val:   .quad 0
exit_esr:   .quad 0
exit_far:   .quad 0
exit_hpfar: .quad 0
exit_elr:   .quad 0
el2_saved_sp: .quad 0

    .bss
    .balign 8192
s2a_l1: .skip 8192
s2b_l1: .skip 8192
s2a_l2: .skip 4096
s2a_l3: .skip 4096
s2b_l2: .skip 4096
s2b_l3: .skip 4096
s1_l1:  .skip 4096
s1_l2:  .skip 4096
s1_l3:  .skip 4096
page_a: .skip 4096
page_b: .skip 4096
el1_stack: .skip 4096
el1_stack_top:
