/*
 * vhe.S -- FEAT_VHE at EL2: HCR_EL2.E2H register redirection, the *_EL12 /
 * *_EL02 encodings, the EL2&0 translation regime and EL0 in the host
 * ({E2H, TGE} = {1, 1}).
 *
 * Needs EL2 at entry: QEMU `-M virt,virtualization=on` (PSCI over SMC: the EL2
 * vectors turn `done`'s HVC #0 into SMC #0). Entered at EL1, or without
 * ID_AA64MMFR1_EL1.VH, every check is skipped.
 *
 * Arm ARM references: D17.2.48 HCR_EL2.{E2H, TGE}; the "When FEAT_VHE is
 * implemented and HCR_EL2.E2H is 1" redirections of SCTLR/TTBR0/TTBR1/TCR/
 * VBAR/ELR/SPSR/CONTEXTIDR/CNTKCTL_EL1 and the EL0 timers to their EL2
 * counterparts, and SCTLR/VBAR/CNTV_CVAL_EL12/EL02 to the EL1/EL0 registers
 * (UNDEFINED with E2H = 0); D8 "The EL2&0 translation regime" (TCR_EL2 in the
 * TCR_EL1 layout, TTBR1_EL2, ASIDs, EL0 permissions, PAN with SCTLR_EL2.SPAN);
 * D1.10.4 TGE routing (SVC and aborts from EL0 to EL2); C6.2 LDTR at EL2 with
 * {E2H, TGE} = {1, 1} (EL0 permissions, or EL2's with PSTATE.UAO, FEAT_UAO); D11 CNTHV_*_EL2 and CNTVCT_EL0
 * without the virtual offset at EL2 with E2H = 1.
 *
 * EL2&0 map (4 KiB, T0SZ = T1SZ = 25, ASID 7 from TTBR0_EL2):
 *   VA 0x00000000 1 GiB Device block (UART), EL2 only, XN
 *   VA 0x40000000-0x47ffffff 2 MiB blocks identity, EL2 RW, UXN
 *   VA 0x80000000 -> el0_page (EL0/EL2 read-only, EL0 executable, PXN)
 *   VA 0x80001000 -> el0_data (EL0 RW, nG), 0x80002000 -> el2_data (EL2 only)
 *   VA 0xffffff8000000000 (TTBR1_EL2) 1 GiB block -> PA 0x40000000, EL2 RW
 */
#include "lib/guest.h"

#define PAT_0       0x0e10e10e10e10e10
#define PAT_2       0x2e12e12e12e12e12
#define PAT_U       0x1111222233334444

#define HCR_RW      (1 << 31)
#define HCR_E2H     (1 << 34)
#define HCR_TGE     (1 << 27)
/* TCR_EL2 with E2H = 1 (TCR_EL1 layout): T0SZ/T1SZ 25, WB, inner, TG1 4K, IPS 40 */
#define TCR_VAL     (25 | (1 << 8) | (1 << 10) | (3 << 12) | (25 << 16) | (1 << 24) | (1 << 26) | (3 << 28) | (2 << 30) | (2 << 32))
#define MAIR_VAL    0x04ff
#define D_AF        (1 << 10)
#define D_SH        (3 << 8)
#define D_NG        (1 << 11)
#define D_PXN       (1 << 53)
#define D_UXN       (1 << 54)
#define D_AP_EL0RW  (1 << 6)
#define D_AP_RO_ALL (3 << 6)
#define NORMAL      (D_AF | D_SH)
#define VA_EL0      0x80000000
#define VA_UP       0xffffff8000000000

.macro LDE reg
    ldr     \reg, =el2_exc_esr
    ldr     \reg, [\reg]
.endm

.macro LDX reg, field
    ldr     \reg, =exit_\field
    ldr     \reg, [\reg]
.endm

/* EL0 probes: offsets in el0_page (checked where they are defined) */
#define EL0_LDR     0
#define EL0_STR     8

/* call_el0 probe, a0, a1: run the probe at el0_page + `probe` at EL0 -> x0 = ESR_EL2 */
.macro CALL0 probe, a0, a1
    ldr     x0, =(VA_EL0 + \probe)
    ldr     x1, =\a0
    ldr     x2, =\a1
    bl      call_el0
.endm

/* EL2 catch: arm, then the next synchronous exception at EL2 resumes at
 * `resume` with el2_exc_esr set (0 if nothing was taken). */
.macro TRY2 resume
    ldr     x16, =el2_exc_esr
    str     xzr, [x16]
    adr     x17, \resume
    str     x17, [x16, #8]
.endm

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    mrs     x0, CurrentEL
    cmp     x0, #8
    b.eq    1f
    SKIP    "VHE", "not entered at EL2"
    b       99f
1:  mrs     x0, id_aa64mmfr1_el1
    ubfx    x0, x0, #8, #4
    cbnz    x0, 2f
    SKIP    "VHE", "ID_AA64MMFR1_EL1.VH = 0"
    b       99f
2:  CHECK   "ID_AA64MMFR1_EL1.VH = 1", x0, 1
    ldr     x0, =el2_vectors
    msr     vbar_el2, x0
    isb

    // ---------------------------------------------------------- E2H = 0
    ldr     x0, =0x1000
    msr     vbar_el1, x0
    ldr     x0, =0x2000
    msr     cntv_cval_el0, x0
    // (*_EL12 with E2H = 0 is UNDEFINED, but QEMU 7.2 lets the access through: not
    // checked here; see the unit tests.)

    // ---------------------------------------------------------- E2H = 1, TGE = 0
    ldr     x0, =(HCR_RW | HCR_E2H)
    msr     hcr_el2, x0
    isb
    mrs     x1, vbar_el12
    CHECK   "E2H: VBAR_EL12 reads VBAR_EL1", x1, 0x1000
    ldr     x0, =el2_vectors
    mrs     x1, vbar_el1
    CHECKR  "E2H: VBAR_EL1 at EL2 reads VBAR_EL2", x1, x0
    ldr     x0, =0x3000
    msr     vbar_el12, x0
    mrs     x1, vbar_el2
    ldr     x0, =el2_vectors
    CHECKR  "E2H: VBAR_EL12 write left VBAR_EL2 alone", x1, x0
    ldr     x0, =0x4567
    msr     elr_el1, x0
    mrs     x1, elr_el2
    CHECK   "E2H: ELR_EL1 at EL2 is ELR_EL2", x1, 0x4567
    ldr     x0, =0x89
    msr     contextidr_el1, x0
    mrs     x1, contextidr_el2
    CHECK   "E2H: CONTEXTIDR_EL1 at EL2 is CONTEXTIDR_EL2", x1, 0x89
    ldr     x0, =TCR_VAL
    msr     tcr_el1, x0
    mrs     x1, tcr_el2
    CHECK   "E2H: TCR_EL1 at EL2 is TCR_EL2 (TCR_EL1 layout)", x1, TCR_VAL
    mrs     x1, cnthctl_el2
    mrs     x2, cntkctl_el1
    CHECKR  "E2H: CNTKCTL_EL1 at EL2 is CNTHCTL_EL2", x2, x1
    ldr     x0, =0x5000
    msr     cntv_cval_el0, x0
    mrs     x1, cnthv_cval_el2
    CHECK   "E2H: CNTV_CVAL_EL0 at EL2 is CNTHV_CVAL_EL2", x1, 0x5000
    mrs     x1, cntv_cval_el02
    CHECK   "E2H: CNTV_CVAL_EL02 is the EL1 virtual timer", x1, 0x2000
    // CNTVCT_EL0 at EL2 with E2H = 1 ignores CNTVOFF_EL2.
    ldr     x0, =0x100000000
    msr     cntvoff_el2, x0
    isb
    mrs     x1, cntpct_el0
    mrs     x2, cntvct_el0
    sub     x3, x1, x2
    add     x3, x3, #0x100000        // |CNTPCT - CNTVCT| < 1M counts
    lsr     x3, x3, #21
    CHECK   "E2H: CNTVCT_EL0 at EL2 has no virtual offset", x3, 0
    ldr     x0, =HCR_RW
    msr     hcr_el2, x0
    isb
    mrs     x1, cntpct_el0
    mrs     x2, cntvct_el0
    sub     x3, x1, x2
    ldr     x4, =0x100000000
    sub     x3, x3, x4
    add     x3, x3, #0x100000
    lsr     x3, x3, #21
    CHECK   "E2H = 0: CNTVCT_EL0 at EL2 = CNTPCT - CNTVOFF_EL2", x3, 0
    msr     cntvoff_el2, xzr
    mrs     x1, vbar_el1
    CHECK   "E2H = 0: VBAR_EL1 holds the VBAR_EL12 write", x1, 0x3000

    // ---------------------------------------------------------- EL2&0 regime, host
    bl      build_tables
    ldr     x0, =MAIR_VAL
    msr     mair_el2, x0
    ldr     x0, =TCR_VAL
    ldr     x1, =(HCR_RW | HCR_E2H | HCR_TGE)
    msr     hcr_el2, x1
    isb
    msr     tcr_el2, x0
    ldr     x0, =l1
    ldr     x1, =(7 << 48)
    orr     x0, x0, x1
    msr     ttbr0_el2, x0
    ldr     x0, =l1_up
    msr     ttbr1_el2, x0
    isb
    tlbi    alle2
    dsb     sy
    mrs     x0, sctlr_el2
    orr     x0, x0, #1                  // M
    bic     x0, x0, #(1 << 23)          // SPAN = 0: PAN set on entry to EL2
    bic     x0, x0, #(1 << 19)          // WXN
    msr     sctlr_el2, x0
    isb
    mrs     x1, sctlr_el2
    CHECKM  "host: EL2&0 stage 1 on (SCTLR_EL2.M)", x1, 1, 1
    ldr     x0, =(VA_UP + (probe_word - RAM_BASE))
    ldr     x1, [x0]
    CHECK   "host: TTBR1_EL2 maps VA 0xffffff80xxxxxxxx", x1, PAT_U

    CALL0   EL0_LDR, (VA_EL0 + 0x1000), 0
    lsr     x1, x0, #26
    CHECK   "host EL0: SVC goes to EL2 (EC 0x15)", x1, EC_SVC64
    LDX     x1, val
    CHECK   "host EL0: reads its EL0 page", x1, PAT_0
    LDX     x1, pan
    CHECK   "host: PSTATE.PAN set on entry to EL2 (SCTLR_EL2.SPAN = 0)", x1, (1 << 22)
    CALL0   EL0_STR, (VA_EL0 + 0x1008), 0x77
    lsr     x1, x0, #26
    CHECK   "host EL0: writes its EL0 page", x1, EC_SVC64
    CALL0   EL0_LDR, (VA_EL0 + 0x2000), 0
    lsr     x1, x0, #26
    CHECK   "host EL0: EL2-only page: data abort to EL2 (EC 0x24)", x1, EC_DABT_LOW
    CHECKM  "host EL0: EL2-only page: DFSC permission L3", x0, 0x7f, 0x0f
    LDX     x1, far
    CHECK   "host EL0: EL2-only page: FAR_EL2", x1, (VA_EL0 + 0x2000)
    CALL0   EL0_LDR, 0x90000000, 0
    CHECKM  "host EL0: unmapped VA: DFSC translation L2", x0, 0x7f, 0x06
    CALL0   EL0_STR, VA_EL0, 0
    CHECKM  "host EL0: store to its read-only code page: permission L3, WnR", x0, 0x7f, 0x4f

    // PAN is set now (taken from EL0 above): EL2 cannot read EL0 data.
    ldr     x0, =(VA_EL0 + 0x1000)
    TRY2    4f
    ldr     x1, [x0]
4:  LDE     x1
    CHECKM  "host: PAN = 1: EL2 load from an EL0 page faults (EC 0x25, permission L3)", x1, 0xfc00003f, 0x9400000f
    msr     pan, #0
    ldr     x1, [x0, #8]
    CHECK   "host: PAN = 0: EL2 reads the EL0 store", x1, 0x77
    ldtr    x1, [x0]
    CHECK   "host: LDTR at EL2 reads an EL0 page", x1, PAT_0
    ldr     x0, =(VA_EL0 + 0x2000)
    ldr     x1, [x0]
    CHECK   "host: EL2 reads its EL2-only page", x1, PAT_2
    TRY2    5f
    ldtr    x1, [x0]
5:  LDE     x1
    CHECKM  "host: LDTR at EL2 of an EL2-only page faults (EL0 permissions)", x1, 0xfc00003f, 0x9400000f
    ldr     x16, =el2_exc_esr
    str     xzr, [x16, #8]
    // FEAT_UAO: with PSTATE.UAO = 1, LDTR at EL2 in the host uses EL2 permissions.
    mrs     x1, id_aa64mmfr2_el1
    ubfx    x1, x1, #4, #4
    cbnz    x1, 7f
    SKIP    "host: PSTATE.UAO", "ID_AA64MMFR2_EL1.UAO = 0"
    b       8f
7:  msr     uao, #1
    mrs     x1, uao
    CHECK   "host: MSR UAO, #1 sets PSTATE.UAO", x1, (1 << 23)
    ldtr    x1, [x0]
    CHECK   "host: UAO = 1: LDTR at EL2 reads the EL2-only page", x1, PAT_2
    msr     uao, #0
8:
    // back to plain EL2 before `done`
    mrs     x0, sctlr_el2
    bic     x0, x0, #1
    msr     sctlr_el2, x0
    isb
    ldr     x0, =HCR_RW
    msr     hcr_el2, x0
    isb
    tlbi    alle2
    dsb     sy
    isb
99: ldp     x29, x30, [sp], #16
    ret

build_tables:
    ldr     x0, =l1
    ldr     x1, =(1 << 2 | D_AF | D_PXN | D_UXN | 1)   // Device (MAIR idx 1) block
    str     x1, [x0]
    ldr     x1, =l2
    orr     x1, x1, #3
    str     x1, [x0, #8]
    ldr     x1, =l2_el0
    orr     x1, x1, #3
    str     x1, [x0, #16]
    ldr     x0, =l2
    ldr     x1, =(RAM_BASE | NORMAL | D_UXN | 1)
    mov     x2, #0
6:  str     x1, [x0, x2, lsl #3]
    add     x1, x1, #0x200000
    add     x2, x2, #1
    cmp     x2, #64
    b.lo    6b
    ldr     x0, =l2_el0
    ldr     x1, =l3_el0
    orr     x1, x1, #3
    str     x1, [x0]
    ldr     x0, =l3_el0
    ldr     x1, =el0_page
    ldr     x2, =(NORMAL | D_AP_RO_ALL | D_PXN | 3)
    orr     x1, x1, x2
    str     x1, [x0]
    ldr     x1, =el0_data
    ldr     x2, =(NORMAL | D_AP_EL0RW | D_NG | D_PXN | D_UXN | 3)
    orr     x1, x1, x2
    str     x1, [x0, #8]
    ldr     x1, =el2_data
    ldr     x2, =(NORMAL | D_PXN | D_UXN | 3)
    orr     x1, x1, x2
    str     x1, [x0, #16]
    ldr     x0, =l1_up
    ldr     x1, =(RAM_BASE | NORMAL | D_PXN | D_UXN | 1)
    str     x1, [x0]
    ldr     x0, =el0_data
    ldr     x1, =PAT_0
    str     x1, [x0]
    ldr     x0, =el2_data
    ldr     x1, =PAT_2
    str     x1, [x0]
    ldr     x0, =probe_word
    ldr     x1, =PAT_U
    str     x1, [x0]
    dsb     sy
    ret

/* call_el0: x0 = EL0 VA of a probe, x1/x2 = its x0/x1.  Runs it at EL0t
 * until it traps to EL2; returns x0 = ESR_EL2 and records exit_{val (the
 * probe's x17), esr, far, elr, pan (PSTATE.PAN at the exit)}. */
call_el0:
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
    mov     x16, #SPSR_EL0T
    msr     spsr_el2, x16
    mov     x0, x1
    mov     x1, x2
    mov     x17, xzr
    eret

el2_exit:                               // lower-EL sync vector
    ldr     x16, =exit_val
    str     x17, [x16]
    mrs     x17, esr_el2
    str     x17, [x16, #8]
    mrs     x17, far_el2
    str     x17, [x16, #16]
    mrs     x17, elr_el2
    str     x17, [x16, #24]
    mrs     x17, pan
    str     x17, [x16, #32]
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

/* EL2, current EL: a TRY2 catch, HVC #0 (PSCI from `done`) -> SMC #0, or
 * unexpected. */
el2_cur_sync:
    ldr     x16, =el2_exc_esr
    ldr     x17, [x16, #8]
    cbz     x17, 1f
    str     xzr, [x16, #8]
    msr     elr_el2, x17
    mrs     x17, esr_el2
    str     x17, [x16]
    eret
1:  mrs     x16, esr_el2
    lsr     x16, x16, #26
    cmp     x16, #EC_HVC64
    b.ne    el2_unexpected
    smc     #0
    eret
el2_unexpected:
    mrs     x0, sctlr_el2
    bic     x0, x0, #1
    msr     sctlr_el2, x0
    ldr     x0, =HCR_RW
    msr     hcr_el2, x0
    isb
    PRINT   "FAIL: unexpected EL2 exception esr="
    mrs     x0, esr_el2
    bl      puthex
    PRINT   " elr="
    mrs     x0, elr_el2
    bl      puthex
    PRINT   " far="
    mrs     x0, far_el2
    bl      puthex
    PRINT   "\n"
    ldr     x0, =nfail
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    b       done

    .balign 2048
el2_vectors:
    .rept 4
    b       el2_unexpected
    .balign 128
    .endr
    b       el2_cur_sync
    .balign 128
    .rept 3
    b       el2_unexpected
    .balign 128
    .endr
    b       el2_exit
    .balign 128
    .rept 7
    b       el2_unexpected
    .balign 128
    .endr
    .ltorg

/* EL0 probes, alone in one page (mapped at VA 0x80000000). */
    .balign 4096
el0_page:
el0_ldr:
    ldr     x17, [x0]
    svc     #0
el0_str:
    str     x1, [x0]
    svc     #0
    .if (el0_ldr - el0_page) != EL0_LDR || (el0_str - el0_page) != EL0_STR
    .error "EL0 probe offsets"
    .endif
    .balign 4096

    .data
    .balign 8
exit_val:   .quad 0
exit_esr:   .quad 0
exit_far:   .quad 0
exit_elr:   .quad 0
exit_pan:   .quad 0
el2_saved_sp: .quad 0
el2_exc_esr: .quad 0, 0        // recorded ESR, armed resume address
probe_word: .quad 0

    .bss
    .balign 4096
l1:     .skip 4096
l2:     .skip 4096
l2_el0: .skip 4096
l3_el0: .skip 4096
l1_up:  .skip 4096
el0_data: .skip 4096
el2_data: .skip 4096
