/*
 * ipi.S -- GICv3 SGIs (inter-processor interrupts) between 4 CPUs; run with
 * `-smp 4` (QEMU: qemu-system-aarch64 -M virt,gic-version=3 -cpu max -smp 4).
 *
 * References: Arm IHI 0069 "GIC architecture specification v3/v4":
 *   - 12.2 ICC_SGI1R_EL1: TargetList [15:0] (bit n = the PE with Aff0 = n in
 *     the cluster Aff3.Aff2.Aff1), Aff1 [23:16], INTID [27:24], Aff2 [39:32],
 *     IRM [40] (0: the PEs named by Aff3.Aff2.Aff1.<TargetList>; 1: "all PEs
 *     in the system, excluding self"), RS [47:44] (RES0 here: ICC_CTLR_EL1.RSS
 *     = 0), Aff3 [55:48].  A target-list bit or affinity that names no PE
 *     reaches nobody.
 *   - 12.2 ICC_IAR1_EL1: INTID [23:0], bits [63:24] RES0.  With affinity
 *     routing the acknowledge does not identify the PE that generated an SGI
 *     (GICv2's GICC_IAR.CPUID has no GICv3 System-register counterpart), so
 *     the only architecturally visible facts recorded per interrupt are the
 *     INTID (the whole IAR value), the running priority (ICC_RPR_EL1 = the
 *     SGI's priority while it is active) and the vector.
 *   - 12.2 ICC_EOIR1_EL1 (EOImode = 0: priority drop and deactivation),
 *     ICC_SRE_EL1, ICC_PMR_EL1, ICC_BPR1_EL1, ICC_IGRPEN1_EL1, ICC_RPR_EL1.
 *   - 12.9 GICD_CTLR (ARE, EnableGrp1, RWP); 12.11 GICR_TYPER (Affinity
 *     [63:32] = Aff3.Aff2.Aff1.Aff0 of the PE, Last [4]), GICR_WAKER
 *     (ProcessorSleep [1], ChildrenAsleep [2]), GICR_IGROUPR0,
 *     GICR_ISENABLER0, GICR_ISPENDR0, GICR_ISACTIVER0, GICR_IPRIORITYR<n>.
 *   - DEN0022 PSCI CPU_ON; Arm ARM D17.2 MPIDR_EL1.
 *
 * Every CPU (the boot CPU first, then CPUs 1..3 started by PSCI CPU_ON) runs
 * with the lib/mmu.S identity map (shared data in Normal memory), finds its
 * redistributor by walking the GICR_TYPER affinities, wakes it through
 * GICR_WAKER, puts SGIs 0-15 in Group 1 at priority 0x80 and enables them,
 * sets up its CPU interface (SRE, PMR = 0xff, BPR1 = 0, IGRPEN1 = 1) and
 * unmasks IRQs.  The secondaries then report ready and wait in WFI; the one
 * IRQ handler (shared vector table hook) acknowledges, records the IAR
 * value, the set of INTIDs seen, ICC_RPR_EL1 and the vector offset in the
 * CPU's slot, EOIs and increments the CPU's counter.
 *
 * Checks (all printed by the boot CPU, in a fixed order; every wait is a
 * bounded poll, so a lost interrupt prints FAIL rather than hanging):
 *   - CPU_ON(1..3) = SUCCESS, the secondaries report ready; each CPU's
 *     redistributor (GICR_TYPER.Affinity = its MPIDR affinity) is frame n at
 *     0x080A0000 + n * 0x20000, ChildrenAsleep = 0, ICC_SRE_EL1.SRE = 1
 *   - SGI 1, TargetList = {1}: CPU 1 takes it once, IAR = 1; CPUs 0, 2, 3
 *     have taken none and have no SGI pending or active
 *   - SGI 2, TargetList = {2, 3}: CPUs 2 and 3 take it, IAR = 2; CPUs 0, 1
 *     nothing new
 *   - SGI 3, IRM = 1 (all but self): CPUs 1, 2, 3 take it, IAR = 3; the
 *     sender (CPU 0) has taken none and has nothing pending
 *   - SGI 4 with Aff1 = 1, with Aff2 = 1, with Aff3 = 1 (TargetList {1,2,3})
 *     and with TargetList bits 4-15 (Aff0 4..15): no such PE, nobody gets it
 *   - an SGI from a secondary: CPU 0 puts a request in CPU 3's mailbox and
 *     rings SGI 8 at CPU 3; CPU 3 sends SGI 7 with TargetList = {0}; CPU 0
 *     takes it once, IAR = 7
 *   - per-CPU totals (0: 1, 1: 2, 2: 2, 3: 3) and INTID sets ({7}, {1,3},
 *     {2,3}, {2,3,8}); every handler ran at vector 0x280 with
 *     ICC_RPR_EL1 = 0x80; no spurious acknowledge; at the end no SGI is
 *     pending or active anywhere
 */
#include "lib/guest.h"

#define NCPU            4
#define CTX             0x1b100000
#define SPIN            2000000         /* poll bound (never reached normally) */
#define SLOT            64              /* per-CPU record, one 64-byte line */
/* slot fields */
#define S_COUNT         0               /* interrupts taken (not spurious) */
#define S_IAR           8               /* last ICC_IAR1_EL1 value */
#define S_SEEN          16              /* OR of 1 << INTID */
#define S_RPR           24              /* ICC_RPR_EL1 in the handler (OR) */
#define S_VEC           32              /* vector offsets (OR) */
#define S_SPUR          40              /* spurious acknowledges */
#define S_MBOX          48              /* mailbox: ICC_SGI1R_EL1 value to send */
/* info fields (set-up results), per CPU */
#define I_FRAME         0               /* redistributor frame found (0: none) */
#define I_WAKER         8               /* GICR_WAKER after the wake-up */
#define I_SRE           16              /* ICC_SRE_EL1 */
#define I_CTX           24              /* x0 at entry (context id) */

#define GICD_CTLR       0x0000
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000         /* SGI_base frame offset */
#define GICR_IGROUPR0   0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ISPENDR0   0x0200
#define GICR_ISACTIVER0 0x0300
#define GICR_IPRIORITYR 0x0400
#define GICR_STRIDE     0x20000

/* ICC_SGI1R_EL1 fields (IHI 0069 12.2) */
#define SGI_INTID(n)    ((n) << 24)
#define SGI_AFF1(n)     ((n) << 16)
#define SGI_AFF2(n)     ((n) << 32)
#define SGI_IRM         (1 << 40)
#define SGI_AFF3(n)     ((n) << 48)

.macro SEND_SGI val
    ldr     x0, =\val
    dsb     ish                     // prior stores visible before the SGI
    msr     icc_sgi1r_el1, x0
    isb
.endm

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    mrs     x1, id_aa64pfr0_el1
    ubfx    x1, x1, #24, #4
    cbnz    x1, 1f
    SKIP    "GICv3 SGI tests", "ID_AA64PFR0_EL1.GIC = 0, no GICv3 CPU interface"
    b       99f
1:  bl      mmu_identity_build
    bl      mmu_identity_enable
    HOOK    VEC_CUR_SPX_IRQ, ipi_hook

    // distributor: affinity routing, both groups enabled (DS = 1 view)
    ldr     x1, =GICD_BASE
    mov     w2, #0x13               // ARE | EnableGrp1 | EnableGrp0
    str     w2, [x1, #GICD_CTLR]
    ldr     x3, =SPIN
2:  ldr     w2, [x1, #GICD_CTLR]
    tbz     w2, #31, 3f             // RWP
    subs    x3, x3, #1
    b.ne    2b
3:  mov     x0, #0
    bl      gic_cpu_init            // boot CPU's redistributor + CPU interface
    msr     daifclr, #2             // CPU 0 takes IRQs too (it must get none)

    // ------------------------------------------------------------ CPU_ON 1..3
    mov     x19, #1
    mov     x20, #0
1:  mov     x1, x19
    adr     x2, secondary_entry
    ldr     x3, =CTX
    add     x3, x3, x19
    PSCI    PSCI_CPU_ON64
    orr     x20, x20, x0
    add     x19, x19, #1
    cmp     x19, #NCPU
    b.lo    1b
    CHECK   "CPU_ON(cpu 1..3) = SUCCESS", x20, 0
    ldr     x0, =ready
    mov     x1, #(NCPU - 1)
    bl      wait_ge
    CHECK   "secondaries set up their GIC and report ready", x0, NCPU - 1

    // set-up results of every CPU
    mov     x19, #0
    ldr     x20, =info
1:  add     x1, x20, x19, lsl #5
    ldr     x2, [x1, #I_FRAME]
    ldr     x3, =GICR_BASE
    add     x3, x3, x19, lsl #17    // GICR_STRIDE = 1 << 17
    cmp     x2, x3
    b.ne    2f
    ldr     x2, [x1, #I_WAKER]
    tbnz    x2, #2, 2f
    ldr     x2, [x1, #I_SRE]
    tbz     x2, #0, 2f
    cbz     x19, 3f
    ldr     x2, [x1, #I_CTX]
    ldr     x3, =CTX
    add     x3, x3, x19
    cmp     x2, x3
    b.ne    2f
3:  add     x19, x19, #1
    cmp     x19, #NCPU
    b.lo    1b
2:  CHECK   "CPUs 0..3: GICR_TYPER.Affinity = MPIDR -> frame n, awake, SRE = 1", x19, NCPU

    // ------------------------------------------------------------ one target
    SEND_SGI (SGI_INTID(1) | (1 << 1))
    mov     x0, #1
    mov     x1, #1
    bl      wait_cpu
    CHECK   "SGI 1 to TargetList {1}: CPU 1 took it", x0, 1
    ldr     x1, =slots + 1 * SLOT
    ldr     x1, [x1, #S_IAR]
    CHECK   "SGI 1: CPU 1 ICC_IAR1_EL1 = 1", x1, 1
    mov     x0, #0b1101
    bl      quiet_mask
    CHECK   "SGI 1: CPUs 0, 2, 3 took none, none pending/active", x0, 0

    // ------------------------------------------------------------ target list of two
    SEND_SGI (SGI_INTID(2) | (1 << 2) | (1 << 3))
    mov     x0, #2
    mov     x1, #1
    bl      wait_cpu
    mov     x19, x0
    mov     x0, #3
    mov     x1, #1
    bl      wait_cpu
    add     x19, x19, x0
    CHECK   "SGI 2 to TargetList {2, 3}: CPUs 2 and 3 took it", x19, 2
    ldr     x1, =slots + 2 * SLOT
    ldr     x2, [x1, #S_IAR]
    ldr     x3, [x1, #(SLOT + S_IAR)]
    CHECK   "SGI 2: CPU 2 ICC_IAR1_EL1 = 2", x2, 2
    CHECK   "SGI 2: CPU 3 ICC_IAR1_EL1 = 2", x3, 2
    ldr     x1, =slots
    ldr     x2, [x1, #(0 * SLOT + S_COUNT)]
    ldr     x3, [x1, #(1 * SLOT + S_COUNT)]
    add     x2, x2, x3, lsl #8
    CHECK   "SGI 2: CPUs 0 and 1 took nothing new", x2, 0x100
    mov     x0, #0b0011
    bl      pend_mask
    CHECK   "SGI 2: nothing pending/active at CPUs 0, 1", x0, 0

    // ------------------------------------------------------------ IRM = 1
    SEND_SGI (SGI_INTID(3) | SGI_IRM)
    mov     x19, #1
    mov     x20, #0
1:  mov     x0, x19
    mov     x1, #2
    bl      wait_cpu
    cmp     x0, #2
    cinc    x20, x20, eq
    add     x19, x19, #1
    cmp     x19, #NCPU
    b.lo    1b
    CHECK   "SGI 3 with IRM = 1: CPUs 1, 2, 3 took it", x20, 3
    ldr     x1, =slots
    ldr     x2, [x1, #(1 * SLOT + S_IAR)]
    ldr     x3, [x1, #(2 * SLOT + S_IAR)]
    ldr     x4, [x1, #(3 * SLOT + S_IAR)]
    cmp     x2, #3
    ccmp    x3, #3, #0, eq
    ccmp    x4, #3, #0, eq
    EXPECT  eq, "SGI 3: ICC_IAR1_EL1 = 3 at CPUs 1, 2, 3"
    mov     x0, #0b0001
    bl      quiet_mask
    CHECK   "SGI 3: not delivered to the sender (CPU 0)", x0, 0

    // ------------------------------------------------------------ no such PE
    SEND_SGI (SGI_INTID(4) | SGI_AFF1(1) | 0b1110)
    SEND_SGI (SGI_INTID(4) | SGI_AFF2(1) | 0b1110)
    SEND_SGI (SGI_INTID(4) | SGI_AFF3(1) | 0b1110)
    SEND_SGI (SGI_INTID(4) | 0xfff0)
    mov     x0, #0b1111
    bl      pend_mask
    mov     x19, x0
    ldr     x1, =slots
    mov     x2, #0
    mov     x3, #0
1:  ldr     x4, [x1, #S_SEEN]
    orr     x2, x2, x4
    add     x1, x1, #SLOT
    add     x3, x3, #1
    cmp     x3, #NCPU
    b.lo    1b
    and     x2, x2, #(1 << 4)
    orr     x19, x19, x2
    CHECK   "SGI 4 to Aff1/Aff2/Aff3 = 1 or Aff0 4..15 (no such PE) reached nobody", x19, 0

    // ------------------------------------------------------------ from a secondary
    ldr     x1, =slots + 3 * SLOT + S_MBOX
    ldr     x2, =(SGI_INTID(7) | (1 << 0))
    stlr    x2, [x1]
    SEND_SGI (SGI_INTID(8) | (1 << 3))
    mov     x0, #0
    mov     x1, #1
    bl      wait_cpu
    CHECK   "SGI 7 from CPU 3 to TargetList {0}: CPU 0 took it", x0, 1
    ldr     x1, =slots
    ldr     x1, [x1, #S_IAR]
    CHECK   "SGI 7: CPU 0 ICC_IAR1_EL1 = 7", x1, 7
    mov     x0, #3
    mov     x1, #3
    bl      wait_cpu
    CHECK   "SGI 8 to TargetList {3} (CPU 3 doorbell) taken", x0, 3
    ldr     x1, =slots + 3 * SLOT + S_MBOX
    ldr     x3, =SPIN
1:  ldar    x2, [x1]                // CPU 3 clears it after sending
    cbz     x2, 2f
    subs    x3, x3, #1
    b.ne    1b
2:  CHECK   "CPU 3 consumed its mailbox", x2, 0

    // ------------------------------------------------------------ totals
    ldr     x19, =slots
    ldr     x1, [x19, #(0 * SLOT + S_COUNT)]
    CHECK   "CPU 0 interrupt count = 1", x1, 1
    ldr     x1, [x19, #(1 * SLOT + S_COUNT)]
    CHECK   "CPU 1 interrupt count = 2", x1, 2
    ldr     x1, [x19, #(2 * SLOT + S_COUNT)]
    CHECK   "CPU 2 interrupt count = 2", x1, 2
    ldr     x1, [x19, #(3 * SLOT + S_COUNT)]
    CHECK   "CPU 3 interrupt count = 3", x1, 3
    ldr     x1, [x19, #(0 * SLOT + S_SEEN)]
    CHECK   "CPU 0 INTIDs seen = {7}", x1, (1 << 7)
    ldr     x1, [x19, #(1 * SLOT + S_SEEN)]
    CHECK   "CPU 1 INTIDs seen = {1, 3}", x1, (1 << 1) | (1 << 3)
    ldr     x1, [x19, #(2 * SLOT + S_SEEN)]
    CHECK   "CPU 2 INTIDs seen = {2, 3}", x1, (1 << 2) | (1 << 3)
    ldr     x1, [x19, #(3 * SLOT + S_SEEN)]
    CHECK   "CPU 3 INTIDs seen = {2, 3, 8}", x1, (1 << 2) | (1 << 3) | (1 << 8)
    mov     x2, #0                  // OR of RPR values
    mov     x3, #0                  // OR of vector offsets
    mov     x4, #0                  // sum of spurious acknowledges
    mov     x5, #0
1:  add     x6, x19, x5, lsl #6
    ldr     x7, [x6, #S_RPR]
    orr     x2, x2, x7
    ldr     x7, [x6, #S_VEC]
    orr     x3, x3, x7
    ldr     x7, [x6, #S_SPUR]
    add     x4, x4, x7
    add     x5, x5, #1
    cmp     x5, #NCPU
    b.lo    1b
    CHECK   "in every handler ICC_RPR_EL1 = 0x80 (the SGIs' priority)", x2, 0x80
    CHECK   "every SGI taken at vector 0x280 (IRQ, current EL, SP_ELx)", x3, 0x280
    CHECK   "no spurious acknowledge", x4, 0
    mov     x0, #0b1111
    bl      pend_mask
    CHECK   "at the end no SGI pending or active at CPUs 0..3", x0, 0

    msr     daifset, #2
    msr     icc_igrpen1_el1, xzr
    isb
99: ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* wait_ge: x0 = address, x1 = target.  Polls (LDAR) until *x0 >= x1 or SPIN
 * polls.  Returns x0 = last value.  Clobbers x2, x3. */
wait_ge:
    ldr     x3, =SPIN
1:  ldar    x2, [x0]
    cmp     x2, x1
    b.hs    2f
    subs    x3, x3, #1
    b.ne    1b
2:  mov     x0, x2
    ret

/* wait_cpu: x0 = cpu, x1 = count.  wait_ge on the CPU's interrupt counter.
 * Returns x0 = the count.  Clobbers x2, x3. */
wait_cpu:
    ldr     x2, =slots
    add     x0, x2, x0, lsl #6
    b       wait_ge

/* pend_mask: x0 = bitmap of CPUs.  Returns x0 = OR over those CPUs of the
 * SGI bits (15:0) of GICR_ISPENDR0 | GICR_ISACTIVER0 (read through each
 * CPU's redistributor frame).  Clobbers x1-x4. */
pend_mask:
    mov     x1, x0
    mov     x0, #0
    mov     x2, #0
1:  tbz     x1, #0, 2f
    ldr     x3, =(GICR_BASE + GICR_SGI)
    add     x3, x3, x2, lsl #17
    ldr     w4, [x3, #GICR_ISPENDR0]
    orr     x0, x0, x4
    ldr     w4, [x3, #GICR_ISACTIVER0]
    orr     x0, x0, x4
2:  lsr     x1, x1, #1
    add     x2, x2, #1
    cbnz    x1, 1b
    and     x0, x0, #0xffff
    ret

/* quiet_mask: x0 = bitmap of CPUs.  Returns x0 = pend_mask | the OR of those
 * CPUs' interrupt counters (0 if none took, nor has pending, an SGI).
 * Clobbers x1-x6. */
quiet_mask:
    mov     x5, x0
    mov     x6, x30
    bl      pend_mask
    ldr     x1, =slots
1:  tbz     x5, #0, 2f
    ldar    x2, [x1]            // S_COUNT = 0
    orr     x0, x0, x2
2:  add     x1, x1, #SLOT
    lsr     x5, x5, #1
    cbnz    x5, 1b
    ret     x6

/* gic_cpu_init: x0 = context id (recorded).  Run by every CPU: finds its
 * redistributor by GICR_TYPER.Affinity (walking the frames until
 * GICR_TYPER.Last), wakes it, SGIs 0-15 Group 1 at priority 0x80 and enabled,
 * then the CPU interface.  Records the results in info[Aff0].  Clobbers
 * x0-x9. */
gic_cpu_init:
    mrs     x1, mpidr_el1
    and     x9, x1, #0xff           // Aff0 = CPU number on virt (< 16 CPUs)
    ldr     x2, =info
    add     x2, x2, x9, lsl #5
    str     x0, [x2, #I_CTX]
    // Affinity value as in GICR_TYPER[63:32]: Aff3.Aff2.Aff1.Aff0
    and     x3, x1, #0xffffff
    ubfx    x4, x1, #32, #8
    orr     x3, x3, x4, lsl #24
    ldr     x4, =GICR_BASE
    mov     x5, #64                 // at most 64 frames
1:  ldr     x6, [x4, #GICR_TYPER]
    cmp     x3, x6, lsr #32
    b.eq    2f
    tbnz    x6, #4, 9f              // Last
    add     x4, x4, #GICR_STRIDE
    subs    x5, x5, #1
    b.ne    1b
9:  str     xzr, [x2, #I_FRAME]     // not found: leave the GIC alone
    ret
2:  str     x4, [x2, #I_FRAME]
    ldr     w6, [x4, #GICR_WAKER]
    bic     w6, w6, #2              // ProcessorSleep = 0
    str     w6, [x4, #GICR_WAKER]
    ldr     x5, =SPIN
3:  ldr     w6, [x4, #GICR_WAKER]
    tbz     w6, #2, 4f              // ChildrenAsleep
    subs    x5, x5, #1
    b.ne    3b
4:  str     x6, [x2, #I_WAKER]
    add     x4, x4, #GICR_SGI
    mov     w6, #-1
    str     w6, [x4, #GICR_IGROUPR0]    // SGIs/PPIs: Group 1
    ldr     w6, =0x80808080
    str     w6, [x4, #(GICR_IPRIORITYR + 0)]
    str     w6, [x4, #(GICR_IPRIORITYR + 4)]
    str     w6, [x4, #(GICR_IPRIORITYR + 8)]
    str     w6, [x4, #(GICR_IPRIORITYR + 12)]
    mov     w6, #0xffff
    str     w6, [x4, #GICR_ISENABLER0]  // SGIs 0-15
    mrs     x6, icc_sre_el1
    orr     x6, x6, #1
    msr     icc_sre_el1, x6
    isb
    mrs     x6, icc_sre_el1
    str     x6, [x2, #I_SRE]
    mov     x6, #0xff
    msr     icc_pmr_el1, x6
    msr     icc_bpr1_el1, xzr
    mov     x6, #1
    msr     icc_igrpen1_el1, x6
    isb
    ret

/* IRQ hook (every CPU): acknowledge, record in the CPU's slot, EOI, count. */
ipi_hook:
    ldr     x5, [x0, #F_VEC]
    mrs     x1, icc_iar1_el1
    mrs     x3, mpidr_el1
    and     x3, x3, #0xff
    ldr     x4, =slots
    add     x4, x4, x3, lsl #6
    ubfx    x2, x1, #0, #24
    cmp     x2, #1020               // 1020..1023: special (spurious)
    b.lo    1f
    ldr     x6, [x4, #S_SPUR]
    add     x6, x6, #1
    str     x6, [x4, #S_SPUR]
    ret
1:  mrs     x6, icc_rpr_el1
    str     x1, [x4, #S_IAR]
    ldr     x7, [x4, #S_SEEN]
    mov     x8, #1
    lsl     x8, x8, x2
    orr     x7, x7, x8
    str     x7, [x4, #S_SEEN]
    ldr     x7, [x4, #S_RPR]
    orr     x7, x7, x6
    str     x7, [x4, #S_RPR]
    ldr     x7, [x4, #S_VEC]
    orr     x7, x7, x5
    str     x7, [x4, #S_VEC]
    msr     icc_eoir1_el1, x1
    isb
    ldr     x7, [x4, #S_COUNT]
    add     x7, x7, #1
    stlr    x7, [x4]                // S_COUNT = 0: last, after the record
    ret

/* ------------------------------------------------------------ secondaries */
/* PSCI CPU_ON entry: EL1, MMU off, x0 = context id. */
secondary_entry:
    msr     daifset, #0xf
    mov     x19, x0
    mrs     x20, mpidr_el1
    and     x20, x20, #0xff
    msr     spsel, #1
    ldr     x1, =sec_stacks
    add     x1, x1, x20, lsl #12
    add     sp, x1, #4096
    ldr     x1, =vector_table
    msr     vbar_el1, x1
    isb
    bl      mmu_identity_enable
    mov     x0, x19
    bl      gic_cpu_init
    ldr     x0, =ready
1:  ldaxr   x2, [x0]
    add     x2, x2, #1
    stlxr   w3, x2, [x0]
    cbnz    w3, 1b
    msr     daifclr, #2             // IRQs on: wait for SGIs
    ldr     x21, =slots + S_MBOX
    add     x21, x21, x20, lsl #6
2:  wfi
    ldar    x1, [x21]               // request to send an SGI?
    cbz     x1, 2b
    dsb     ish
    msr     icc_sgi1r_el1, x1
    isb
    stlr    xzr, [x21]
    b       2b

    .ltorg

    .bss
    .balign 64
ready:      .skip 64
slots:      .skip SLOT * NCPU
info:       .skip 32 * NCPU
    .balign 4096
sec_stacks: .skip 4096 * NCPU
