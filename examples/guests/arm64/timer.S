/*
 * timer.S -- generic timer and GICv3 interrupt delivery at EL1 (MMU off).
 * QEMU: qemu-system-aarch64 -M virt,gic-version=3 -cpu max (the GICv3 is
 * required; distributor at 0x08000000, redistributor of CPU 0 at 0x080A0000).
 *
 * References: Arm ARM chapter "The Generic Timer in AArch64 state" (timer
 * conditions: ISTATUS when the count >= CVAL, TVAL = CVAL - count as a
 * signed 32-bit value) and the Generic Timer register descriptions
 * (CNTFRQ_EL0, CNTVCT_EL0, CNTPCT_EL0, CNTV_CTL/CVAL/TVAL_EL0, CNTP_*);
 * Arm IHI 0069 "GIC architecture specification v3/v4", chapter 12 register
 * descriptions: GICD_CTLR, GICD_PIDR2.ArchRev, GICR_WAKER, GICR_TYPER,
 * GICR_IGROUPR0, GICR_ISENABLER0, GICR_ISPENDR0, GICR_IPRIORITYR<n>,
 * ICC_SRE_EL1, ICC_PMR_EL1, ICC_BPR1_EL1, ICC_IGRPEN1_EL1, ICC_IAR1_EL1,
 * ICC_EOIR1_EL1, ICC_RPR_EL1, ICC_SGI1R_EL1; virt board: virtual timer =
 * PPI 27 (INTID 27).
 *
 * Checks (only derived facts are printed, never counter values):
 *   - CNTFRQ_EL0 != 0; CNTVCT_EL0 and CNTPCT_EL0 increase
 *   - CNTV_CVAL in the future: ISTATUS = 0; CVAL = 0: ISTATUS = 1
 *   - CNTV_TVAL = ~1 ms, ENABLE|IMASK: polling sees ISTATUS = 1 within 1 s,
 *     then CNTVCT >= CVAL and TVAL reads negative; same for CNTP
 *   - GICv3 (else one "(skipped: ...)" line): ID_AA64PFR0_EL1.GIC = 1,
 *     GICD_PIDR2.ArchRev = 3 (GICv3),
 *     GICR_TYPER.Affinity = 0 for CPU 0; GICR_WAKER.ChildrenAsleep clears
 *   - virtual timer interrupt: PPI 27 enabled in GICR_ISENABLER0, group 1,
 *     priority 0x80; ICC_SRE/PMR/IGRPEN1 set; DAIF.I cleared, WFI: the IRQ
 *     vector (offset 0x280) runs once, ICC_IAR1_EL1 = 27, EOI; afterwards
 *     ICC_RPR_EL1 = idle (0xff) and PPI 27 is no longer pending
 *   - SGI 5 to self through ICC_SGI1R_EL1: IRQ with INTID 5
 *   - ICC_PMR_EL1 = 0x80 masks a priority-0x80 SGI 6 (pending in
 *     GICR_ISPENDR0, not taken); PMR = 0xff: it is taken
 */
#include "lib/guest.h"

#define GICR_SGI        (GICR_BASE + 0x10000)
#define GICD_CTLR       0x0000
#define GICD_PIDR2      0xffe8
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_IGROUPR0   0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ISPENDR0   0x0200
#define GICR_IPRIORITYR 0x0400
#define CTL_ENABLE      1
#define CTL_IMASK       2
#define CTL_ISTATUS     4
#define INTID_VTIMER    27

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!

    // ------------------------------------------------------------ counters
    mrs     x20, cntfrq_el0
    cmp     x20, #0
    EXPECT  ne, "CNTFRQ_EL0 nonzero"
    isb
    mrs     x1, cntvct_el0
    mov     x3, #8
    mov     x4, #0                  // number of increases seen
1:  mov     x5, #20000
2:  subs    x5, x5, #1
    b.ne    2b
    isb
    mrs     x2, cntvct_el0
    cmp     x2, x1
    cinc    x4, x4, hi
    b.lo    3f                      // went backwards
    mov     x1, x2
    subs    x3, x3, #1
    b.ne    1b
3:  cmp     x4, #1
    ccmp    x3, #0, #0, hs          // at least one increase, never backwards
    EXPECT  eq, "CNTVCT_EL0 increases"
    isb
    mrs     x1, cntpct_el0
    ldr     x5, =200000
2:  subs    x5, x5, #1
    b.ne    2b
    isb
    mrs     x2, cntpct_el0
    cmp     x2, x1
    EXPECT  hi, "CNTPCT_EL0 increases"

    // ------------------------------------------------------------ virtual timer, polled
    msr     cntv_ctl_el0, xzr
    mrs     x1, cntvct_el0
    add     x1, x1, x20, lsl #4     // 16 s in the future
    msr     cntv_cval_el0, x1
    mov     x1, #(CTL_ENABLE | CTL_IMASK)
    msr     cntv_ctl_el0, x1
    isb
    mrs     x1, cntv_ctl_el0
    CHECK   "CNTV: CVAL in the future: ISTATUS=0", x1, CTL_ENABLE | CTL_IMASK
    msr     cntv_cval_el0, xzr
    isb
    mrs     x1, cntv_ctl_el0
    CHECK   "CNTV: CVAL=0: ISTATUS=1", x1, CTL_ENABLE | CTL_IMASK | CTL_ISTATUS

    msr     cntv_ctl_el0, xzr
    mov     x2, #1000
    udiv    x1, x20, x2             // ~1 ms
    msr     cntv_tval_el0, x1
    mov     x1, #(CTL_ENABLE | CTL_IMASK)
    msr     cntv_ctl_el0, x1
    isb
    mrs     x6, cntv_cval_el0
    add     x7, x6, x20             // give up 1 s after the deadline
1:  mrs     x1, cntv_ctl_el0
    tbnz    x1, #2, 2f
    isb
    mrs     x2, cntvct_el0
    cmp     x2, x7
    b.lo    1b
2:  isb
    mrs     x2, cntvct_el0
    mrs     x3, cntv_tval_el0
    CHECKM  "CNTV: TVAL ~1 ms: ISTATUS set by polling", x1, CTL_ISTATUS, CTL_ISTATUS
    cmp     x2, x6
    EXPECT  hs, "CNTV: ISTATUS only once CNTVCT >= CVAL"
    tst     x3, #0x80000000
    EXPECT  ne, "CNTV: TVAL negative after expiry"
    msr     cntv_ctl_el0, xzr

    // ------------------------------------------------------------ physical timer, polled
    msr     cntp_ctl_el0, xzr
    mov     x2, #1000
    udiv    x1, x20, x2
    msr     cntp_tval_el0, x1
    mov     x1, #(CTL_ENABLE | CTL_IMASK)
    msr     cntp_ctl_el0, x1
    isb
    mrs     x6, cntp_cval_el0
    add     x7, x6, x20
1:  mrs     x1, cntp_ctl_el0
    tbnz    x1, #2, 2f
    isb
    mrs     x2, cntpct_el0
    cmp     x2, x7
    b.lo    1b
2:  isb
    mrs     x2, cntpct_el0
    CHECKM  "CNTP: TVAL ~1 ms: ISTATUS set by polling", x1, CTL_ISTATUS, CTL_ISTATUS
    cmp     x2, x6
    EXPECT  hs, "CNTP: ISTATUS only once CNTPCT >= CVAL"
    msr     cntp_ctl_el0, xzr

    // ------------------------------------------------------------ GICv3 discovery
    mrs     x1, id_aa64pfr0_el1
    ubfx    x1, x1, #24, #4
    cbnz    x1, 1f
    SKIP    "GICv3 interrupt tests", "ID_AA64PFR0_EL1.GIC = 0, no GICv3 CPU interface"
    b       9f
1:  CHECK   "ID_AA64PFR0_EL1.GIC = 1 (GICv3 system registers)", x1, 1
    ldr     x19, =GICD_BASE
    ldr     x1, =(GICD_BASE + GICD_PIDR2)
    ldr     w1, [x1]
    ubfx    x1, x1, #4, #4
    CHECK   "GICD_PIDR2.ArchRev = 3", x1, 3
    ldr     x21, =GICR_BASE
    ldr     x1, [x21, #GICR_TYPER]
    lsr     x1, x1, #32
    CHECK   "GICR_TYPER.Affinity = 0 (CPU 0)", x1, 0

    // distributor: affinity routing, both groups enabled
    mov     w1, #0x13               // ARE | EnableGrp1 | EnableGrp0 (DS=1 view)
    str     w1, [x19, #GICD_CTLR]
1:  ldr     w1, [x19, #GICD_CTLR]
    tbnz    w1, #31, 1b             // RWP
    // redistributor: wake up
    ldr     w1, [x21, #GICR_WAKER]
    bic     w1, w1, #2              // ProcessorSleep = 0
    str     w1, [x21, #GICR_WAKER]
    ldr     x3, =100000
1:  ldr     w1, [x21, #GICR_WAKER]
    tbz     w1, #2, 2f              // ChildrenAsleep
    subs    x3, x3, #1
    b.ne    1b
2:  CHECKM  "GICR_WAKER.ChildrenAsleep clears", x1, 4, 0
    ldr     x22, =GICR_SGI
    mov     w1, #-1
    str     w1, [x22, #GICR_IGROUPR0]   // SGIs/PPIs: group 1
    ldr     w1, =0x80808080
    mov     x2, #0
1:  add     x3, x22, #GICR_IPRIORITYR
    str     w1, [x3, x2]            // priority 0x80 for INTIDs 0..31
    add     x2, x2, #4
    cmp     x2, #32
    b.lo    1b
    ldr     w1, =((1 << INTID_VTIMER) | (1 << 5) | (1 << 6))
    str     w1, [x22, #GICR_ISENABLER0]
    // CPU interface
    mrs     x1, icc_sre_el1
    orr     x1, x1, #1
    msr     icc_sre_el1, x1
    isb
    mrs     x1, icc_sre_el1
    CHECKM  "ICC_SRE_EL1.SRE = 1", x1, 1, 1
    mov     x1, #0xff
    msr     icc_pmr_el1, x1
    msr     icc_bpr1_el1, xzr
    mov     x1, #1
    msr     icc_igrpen1_el1, x1
    isb
    HOOK    VEC_CUR_SPX_IRQ, irq_hook

    // ------------------------------------------------------------ timer IRQ
    bl      irq_reset
    msr     cntv_ctl_el0, xzr
    mov     x2, #1000
    udiv    x1, x20, x2
    msr     cntv_tval_el0, x1
    mov     x1, #CTL_ENABLE
    msr     cntv_ctl_el0, x1
    isb
    bl      wait_irq
    CHECK   "virtual timer IRQ taken once", x0, 1
    ldr     x1, =irq_log
    ldr     x2, [x1, #8]
    CHECK   "ICC_IAR1_EL1 = 27 (virtual timer PPI)", x2, INTID_VTIMER
    ldr     x2, [x1, #16]
    CHECK   "IRQ vector offset 0x280 (current EL, SP_ELx)", x2, 0x280
    mrs     x1, icc_rpr_el1
    CHECK   "after EOI: ICC_RPR_EL1 idle", x1, 0xff
    ldr     w1, [x22, #GICR_ISPENDR0]
    CHECKM  "after EOI: PPI 27 not pending", x1, (1 << INTID_VTIMER), 0

    // ------------------------------------------------------------ SGI to self
    bl      irq_reset
    ldr     x1, =((5 << 24) | 1)    // INTID 5, Aff3.2.1 = 0, target list {0}
    msr     icc_sgi1r_el1, x1
    isb
    bl      wait_irq
    CHECK   "SGI 5 to self: IRQ taken once", x0, 1
    ldr     x1, =irq_log
    ldr     x2, [x1, #8]
    CHECK   "SGI 5: ICC_IAR1_EL1 = 5", x2, 5

    // ------------------------------------------------------------ priority mask
    bl      irq_reset
    mov     x1, #0x80
    msr     icc_pmr_el1, x1
    isb
    ldr     x1, =((6 << 24) | 1)
    msr     icc_sgi1r_el1, x1
    isb
    msr     daifclr, #2
    ldr     x3, =100000
1:  subs    x3, x3, #1
    b.ne    1b
    msr     daifset, #2
    ldr     x1, =irq_log
    ldr     x1, [x1]
    CHECK   "PMR 0x80 masks a priority 0x80 SGI", x1, 0
    ldr     w1, [x22, #GICR_ISPENDR0]
    CHECKM  "masked SGI 6 is pending", x1, (1 << 6), (1 << 6)
    mov     x1, #0xff
    msr     icc_pmr_el1, x1
    isb
    bl      wait_irq
    CHECK   "PMR 0xff: pending SGI 6 taken", x0, 1
    ldr     x1, =irq_log
    ldr     x2, [x1, #8]
    CHECK   "SGI 6: ICC_IAR1_EL1 = 6", x2, 6

    msr     icc_igrpen1_el1, xzr
    UNHOOK  VEC_CUR_SPX_IRQ
9:  ldp     x29, x30, [sp], #16
    ret

/* irq_reset: clear the IRQ log. */
irq_reset:
    ldr     x0, =irq_log
    stp     xzr, xzr, [x0]
    str     xzr, [x0, #16]
    ret

/* wait_irq: unmask IRQs, WFI until the hook has run (at most 1000 wake-ups),
 * mask again.  Returns x0 = number of IRQs taken. */
wait_irq:
    ldr     x1, =irq_log
    mov     x2, #1000
    msr     daifclr, #2
1:  ldr     x0, [x1]
    cbnz    x0, 2f
    wfi
    subs    x2, x2, #1
    b.ne    1b
2:  msr     daifset, #2
    ldr     x0, [x1]
    ret

/* IRQ hook: acknowledge, log (count, INTID, vector offset), silence the
 * virtual timer, EOI. */
irq_hook:
    ldr     x3, [x0, #F_VEC]
    mrs     x1, icc_iar1_el1
    and     x1, x1, #0xffffff
    cmp     x1, #1020               // spurious (1020..1023): ignore
    b.hs    1f
    ldr     x2, =irq_log
    ldr     x4, [x2]
    add     x4, x4, #1
    stp     x4, x1, [x2]
    str     x3, [x2, #16]
    cmp     x1, #INTID_VTIMER
    b.ne    2f
    msr     cntv_ctl_el0, xzr       // drop the level-sensitive timer output
    isb
2:  msr     icc_eoir1_el1, x1
    isb
1:  ret

    .ltorg

    .bss
    .balign 16
irq_log:    .skip 32                // count, last INTID, last vector offset
