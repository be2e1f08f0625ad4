/*
 * debug.S -- self-hosted debug exceptions at EL1 (MMU off).
 *
 * References: Arm ARM D2 "AArch64 Self-hosted Debug" (the debug exception
 * enable controls: OS Lock, MDSCR_EL1.KDE/MDE, PSTATE.D; Breakpoint,
 * Watchpoint and Software Step exceptions, the active-not-pending and
 * active-pending step states, ESR.ISV/EX), the debug register descriptions
 * (OSLAR_EL1, OSLSR_EL1, OSDLR_EL1, MDSCR_EL1, DBGBVR<n>_EL1, DBGBCR<n>_EL1,
 * DBGWVR<n>_EL1, DBGWCR<n>_EL1), D17.2.37 ESR_EL1 (EC 0x30/0x31 breakpoint, 0x32 software step, 0x35 watchpoint,
 * 0x3c BRK; debug-event FSC 0x22).
 *
 * Checks:
 *   - OS Lock released (OSLAR_EL1 = 0 -> OSLSR_EL1.OSLK = 0)
 *   - BRK #imm from EL0: EC 0x3c, vector 0x400, ISS = imm16
 *   - software step of EL0 code (MDSCR_EL1.SS = 1, ERET with SPSR.SS = 1):
 *     one EC 0x32 exception per instruction with ELR = the next instruction
 *     (a taken branch: its target), ISS.ISV = 1, EX = 0, IFSC = 0x22;
 *     the stepped code computes the right result
 *   - ERET with MDSCR.SS = 1 and SPSR.SS = 0 (active-pending): the step
 *     exception is taken before any instruction, ELR = target, ISS.ISV = 0
 *   - hardware breakpoint 0 on EL0 code (DBGBCR0.PMC = EL0, MDE = 1):
 *     EC 0x30, ELR = breakpoint address, earlier instructions executed
 *   - hardware breakpoint on EL1 code: ignored while PSTATE.D = 1; with
 *     MDSCR.KDE = 1 and PSTATE.D = 0: EC 0x31 at vector 0x200
 *   - watchpoint 0 on a quadword (EL1, stores only): a load does not
 *     trigger, a store does: EC 0x35, FAR = address, ISS.WnR = 1, DFSC 0x22
 */
#include "lib/guest.h"

#define MDSCR_SS    (1 << 0)
#define MDSCR_KDE   (1 << 13)
#define MDSCR_MDE   (1 << 15)
#define BCR_EL1     ((0xf << 5) | (1 << 1) | 1)     /* BAS=1111, PMC=01, E */
#define BCR_EL0     ((0xf << 5) | (2 << 1) | 1)     /* BAS=1111, PMC=10, E */
#define WCR_EL1_ST  ((0xff << 5) | (2 << 3) | (1 << 1) | 1) /* BAS, LSC=store, PAC=EL1, E */

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    msr     osdlr_el1, xzr
    msr     oslar_el1, xzr
    isb
    mrs     x1, oslsr_el1
    CHECKM  "OS Lock released: OSLSR_EL1.OSLK = 0", x1, 2, 0
    msr     mdscr_el1, xzr
    isb

    // ------------------------------------------------------------ BRK from EL0
    TRY     1f
    adr     x0, el0_brk
    bl      enter_el0
1:  ENDTRY
    EXC_CHECK "EL0 brk #0x99: EC=0x3c, ELR=brk", EC_BRK64, el0_brk
    LDEXC   x1, vec
    CHECK   "EL0 brk: vector offset 0x400", x1, 0x400
    LDEXC   x1, esr
    CHECKM  "EL0 brk: ISS = imm16", x1, 0x1ffffff, 0x99

    // ------------------------------------------------------------ software step
    HOOK    VEC_LOW64_SYNC, step_hook
    mov     x1, #16
    bl      step_reset
    mov     x1, #MDSCR_SS
    msr     mdscr_el1, x1
    isb
    adr     x0, el0_step
    mov     x1, #SPSR_SS
    bl      enter_el0_spsr          // step_hook comes back here
    msr     mdscr_el1, xzr
    isb
    ldr     x19, =step_log
    ldr     x1, [x19]
    CHECK   "software step: 4 step exceptions, then the SVC", x1, 4
    ldr     x1, [x19, #8]
    CHECK   "software step: ESR = EC 0x32, IL, ISV=1, EX=0, IFSC 0x22", x1, (EC_SSTEP_LOW << 26) | (1 << 25) | (1 << 24) | 0x22
    ldr     x1, [x19, #16]
    CHECK   "software step: stepping ended by EC 0x15 (svc)", x1, EC_SVC64
    ldp     x1, x2, [x19, #32]
    adr     x3, el0_step + 4
    CHECKR  "step 1: ELR = next instruction", x1, x3
    adr     x3, el0_step + 8
    CHECKR  "step 2: ELR = next instruction", x2, x3
    ldp     x1, x2, [x19, #48]
    adr     x3, el0_step_target
    CHECKR  "step 3 (taken branch): ELR = branch target", x1, x3
    adr     x3, el0_step_svc
    CHECKR  "step 4: ELR = the svc", x2, x3
    ldr     x1, [x19, #24]
    CHECK   "stepped EL0 code computed 1 + 2", x1, 3

    // active-pending: SPSR.SS = 0 -> step before the first instruction
    mov     x1, #1
    bl      step_reset
    mov     x1, #MDSCR_SS
    msr     mdscr_el1, x1
    isb
    adr     x0, el0_step
    mov     x1, #0
    bl      enter_el0_spsr
    msr     mdscr_el1, xzr
    isb
    ldr     x1, [x19]
    CHECK   "active-pending step: one exception", x1, 1
    ldr     x1, [x19, #32]
    adr     x3, el0_step
    CHECKR  "active-pending step: ELR = ERET target", x1, x3
    ldr     x1, [x19, #8]
    CHECK   "active-pending step: ESR.ISV = 0", x1, (EC_SSTEP_LOW << 26) | (1 << 25) | 0x22
    UNHOOK  VEC_LOW64_SYNC

    // ------------------------------------------------------------ breakpoint at EL0
    adr     x1, el0_bp_here
    msr     dbgbvr0_el1, x1
    mov     x1, #BCR_EL0
    msr     dbgbcr0_el1, x1
    mov     x1, #MDSCR_MDE
    msr     mdscr_el1, x1
    isb
    mov     x5, #0
    TRY     1f
    adr     x0, el0_bp
    bl      enter_el0
1:  ENDTRY
    msr     dbgbcr0_el1, xzr
    isb
    EXC_CHECK "EL0 hardware breakpoint: EC=0x30, ELR=address", EC_BKPT_LOW, el0_bp_here
    LDEXC   x1, esr
    CHECKM  "EL0 breakpoint: IFSC 0x22 (debug)", x1, 0x3f, 0x22
    CHECK   "EL0 breakpoint: instructions before it ran, not after", x5, 1

    // ------------------------------------------------------------ breakpoint at EL1
    adr     x1, el1_bp_here
    msr     dbgbvr0_el1, x1
    mov     x1, #BCR_EL1
    msr     dbgbcr0_el1, x1
    mov     x1, #(MDSCR_MDE | MDSCR_KDE)
    msr     mdscr_el1, x1
    isb
    TRY     1f                      // PSTATE.D = 1: must not trigger
    bl      el1_bp_func
1:  ENDTRY
    LDEXC   x1, caught
    CHECK   "EL1 breakpoint masked by PSTATE.D", x1, 0
    TRY     1f
    msr     daifclr, #8             // D = 0
    bl      el1_bp_func
1:  ENDTRY
    msr     daifset, #8
    msr     dbgbcr0_el1, xzr
    isb
    EXC_CHECK "EL1 hardware breakpoint (KDE=1, D=0): EC=0x31, ELR", EC_BKPT_CUR, el1_bp_here
    LDEXC   x1, vec
    CHECK   "EL1 breakpoint: vector offset 0x200", x1, 0x200

    // ------------------------------------------------------------ watchpoint at EL1
    ldr     x20, =watched
    msr     dbgwvr0_el1, x20
    ldr     x1, =WCR_EL1_ST
    msr     dbgwcr0_el1, x1
    isb
    msr     daifclr, #8
    TRY     1f
    ldr     x2, [x20]               // load: LSC = store only, no trigger
1:  ENDTRY
    msr     daifset, #8
    LDEXC   x1, caught
    CHECK   "store watchpoint ignores a load", x1, 0
    mov     x2, #0x77
    msr     daifclr, #8
    TRY     1f
wp_store:
    str     x2, [x20]
1:  ENDTRY
    msr     daifset, #8
    msr     dbgwcr0_el1, xzr
    msr     mdscr_el1, xzr
    isb
    EXC_CHECK "store watchpoint: EC=0x35, ELR = the store", EC_WPT_CUR, wp_store
    LDEXC   x1, esr
    CHECKM  "watchpoint: WnR=1, DFSC 0x22", x1, 0x7f, 0x62
    LDEXC   x1, far
    CHECKR  "watchpoint: FAR = watched address", x1, x20

    ldp     x29, x30, [sp], #16
    ret

/* step_reset: clear the step log, x1 = number of steps before stopping. */
step_reset:
    ldr     x0, =step_log
    mov     x2, #0
1:  str     xzr, [x0, x2]
    add     x2, x2, #8
    cmp     x2, #(24 * 8)
    b.lo    1b
    ldr     x0, =step_limit
    str     x1, [x0]
    ret

/* step_hook (lower-EL sync): log software-step exceptions in step_log
 * (+0 count, +8 first ESR, +16 ending EC, +24 EL0 x3 at the end, +32 ELRs);
 * keep stepping (SPSR.SS = 1) until step_limit steps, or end at the first
 * other exception: resume at EL1h, returning from enter_el0_spsr. */
step_hook:
    ldr     x1, [x0, #F_ESR]
    ubfx    x2, x1, #26, #6
    ldr     x3, =step_log
    cmp     x2, #EC_SSTEP_LOW
    b.ne    2f
    ldr     x4, [x3]
    cbnz    x4, 1f
    str     x1, [x3, #8]            // first ESR
1:  ldr     x5, [x0, #F_ELR]
    add     x6, x3, #32
    and     x7, x4, #15             // (at most 16 ELRs)
    str     x5, [x6, x7, lsl #3]
    add     x4, x4, #1
    str     x4, [x3]
    ldr     x5, =step_limit
    ldr     x5, [x5]
    cmp     x4, x5
    b.hs    3f
    ldr     x5, [x0, #F_SPSR]
    orr     x5, x5, #SPSR_SS
    str     x5, [x0, #F_SPSR]
    ret
2:  str     x2, [x3, #16]           // ending EC
3:  ldr     x5, [x0, #(3 * 8)]
    str     x5, [x3, #24]           // EL0 x3
    ldr     x5, =step_resume_el1
    mov     x6, #(SPSR_DAIF | SPSR_EL1H)
    stp     x5, x6, [x0, #F_ELR]
    ret
step_resume_el1:                    // back to the caller of enter_el0_spsr
    ldr     x9, =step_saved_lr
    ldr     x30, [x9]
    ret

/* enter_el0: x0 = entry (SPSR = EL0t, SS = 0).
 * enter_el0_spsr: x0 = entry, x1 = extra SPSR bits; records the return
 * address so that step_hook can come back here. */
enter_el0:
    mov     x1, #0
enter_el0_spsr:
    ldr     x2, =step_saved_lr
    str     x30, [x2]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    ldr     x1, =el0_stack_top
    msr     sp_el0, x1
    eret

/* EL1 function with a breakpoint on its second instruction */
el1_bp_func:
    nop
el1_bp_here:
    nop
    ret

/* ------------------------------------------------------------ EL0 code */
el0_brk:
    brk     #0x99
    b       .

el0_step:
    mov     x1, #1
    mov     x2, #2
    b       el0_step_target
    nop
el0_step_target:
    add     x3, x1, x2
el0_step_svc:
    svc     #0
    b       .

el0_bp:
    mov     x5, #1
el0_bp_here:
    mov     x5, #2
    svc     #0
    b       .

    .ltorg

    .bss
    .balign 16
step_log:   .skip 24 * 8        // count, first ESR, end EC, x3, ELR[0..15]
step_limit: .skip 8
step_saved_lr: .skip 8
watched:    .skip 16
    .balign 16
el0_stack:  .skip 4096
el0_stack_top:
