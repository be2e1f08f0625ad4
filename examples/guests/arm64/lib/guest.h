/*
 * lib/guest.h -- constants and assembler macros shared by the chimera AArch64
 * test guests (QEMU / chimera `virt` board, bare metal, EL1).
 *
 * Include with `#include "lib/guest.h"` at the top of a guest .S file.  The
 * guest defines `main` (a normal function: called with a 16 KiB EL1 stack,
 * SPSel=1, DAIF masked, MMU off, VBAR_EL1 = vector_table); returning from main
 * prints the DONE line and powers off (lib/base.S).
 *
 * Reporting macros (all preserve x0-x30; they clobber NZCV):
 *   PRINT "text"                   print literal text (use \n for a newline)
 *   PASS  "name"                   -> "PASS: name"
 *   FAIL  "name", "detail"         -> "FAIL: name detail"
 *   SKIP  "name", "reason"         -> "PASS: name (skipped: reason)"
 *   CHECK "name", xN, imm64        PASS if xN == imm64, else FAIL got=/exp=
 *   CHECKR "name", xN, xM          PASS if xN == xM, else FAIL got=/exp=
 *   CHECKM "name", xN, mask, imm   PASS if (xN & mask) == imm
 *   CHECKMR "name", xN, mask, xM   PASS if (xN & mask) == xM
 *   EXPECT cond, "name"            PASS if condition code `cond` holds (after
 *                                  a cmp/tst), else FAIL "(condition not met)"
 *
 * Expected exceptions (see lib/base.S for the frame layout):
 *   TRY resume_label   arm the catch: the next synchronous exception, IRQ,
 *                      FIQ or SError that has no hook installed is recorded in
 *                      exc_caught/exc_esr/exc_far/exc_elr/exc_spsr/exc_vec and
 *                      execution resumes at resume_label at EL1h with DAIF
 *                      masked and x0-x30 as they were when the exception was
 *                      taken (SP_EL1 as it was at exception entry).
 *   ENDTRY             disarm (resume_label normally follows directly).
 *   EXC_CHECK "name", ec [, elr]  PASS if exactly one exception was caught
 *                      since TRY, its ESR_EL1.EC == ec, ESR_EL1.IL == 1 and
 *                      (if given) ELR_EL1 == elr.
 *   LDEXC xN, field    xN = recorded exc_<field> (caught, esr, far, elr,
 *                      spsr, vec)
 *   HOOK idx, handler  install handler for vector entry idx (0..15,
 *                      = vector offset / 0x80); UNHOOK idx removes it.  The
 *                      handler is called with x0 = exception frame and may
 *                      clobber any register; it may edit the saved
 *                      registers / ELR / SPSR in the frame.
 */
#ifndef CHIMERA_ARM64_GUEST_H
#define CHIMERA_ARM64_GUEST_H

/* ------------------------------------------------------------ virt board */
#define RAM_BASE        0x40000000
#define IMAGE_BASE      0x40080000
#define UART0           0x09000000      /* PL011 */
#define UART_DR         0x00
#define UART_FR         0x18
#define UART_CR         0x30
#define UART_FR_TXFF    5               /* bit number: transmit FIFO full */
#define GICD_BASE       0x08000000      /* GICv3 distributor */
#define GICR_BASE       0x080A0000      /* GICv3 redistributor of CPU 0 */

/* ------------------------------------------------------------ PSCI (DEN0022) */
#define PSCI_VERSION            0x84000000
#define PSCI_CPU_OFF            0x84000002
#define PSCI_CPU_ON64           0xC4000003
#define PSCI_AFFINITY_INFO64    0xC4000004
#define PSCI_MIGRATE_INFO_TYPE  0x84000006
#define PSCI_SYSTEM_OFF         0x84000008
#define PSCI_SYSTEM_RESET       0x84000009
#define PSCI_FEATURES           0x8400000A
#define PSCI_SUCCESS            0
#define PSCI_NOT_SUPPORTED      (-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_DENIED             (-3)
#define PSCI_ALREADY_ON         (-4)

/* ------------------------------------------------------------ ESR_EL1.EC */
#define EC_UNKNOWN      0x00
#define EC_WFX          0x01
#define EC_FP           0x07
#define EC_ILLEGAL      0x0e
#define EC_SVC64        0x15
#define EC_HVC64        0x16
#define EC_SYSREG       0x18
#define EC_IABT_LOW     0x20
#define EC_IABT_CUR     0x21
#define EC_PC_ALIGN     0x22
#define EC_DABT_LOW     0x24
#define EC_DABT_CUR     0x25
#define EC_SP_ALIGN     0x26
#define EC_BKPT_LOW     0x30
#define EC_BKPT_CUR     0x31
#define EC_SSTEP_LOW    0x32
#define EC_SSTEP_CUR    0x33
#define EC_WPT_LOW      0x34
#define EC_WPT_CUR      0x35
#define EC_BRK64        0x3c

/* vector table entry indexes (offset / 0x80) */
#define VEC_CUR_SP0_SYNC  0
#define VEC_CUR_SPX_SYNC  4
#define VEC_CUR_SPX_IRQ   5
#define VEC_CUR_SPX_FIQ   6
#define VEC_CUR_SPX_SERR  7
#define VEC_LOW64_SYNC    8
#define VEC_LOW64_IRQ     9

/* SPSR / PSTATE values */
#define SPSR_EL0T       0x000
#define SPSR_EL1H       0x005
#define SPSR_DAIF       0x3c0
#define SPSR_SS         (1 << 21)

/* exception frame layout (lib/base.S): x0..x30 at 8*n, then: */
#define FRAME_SIZE      304
#define F_ELR           248
#define F_SPSR          256
#define F_ESR           264
#define F_FAR           272
#define F_VEC           280
#define F_SP_EL0        288
#define F_SP            296     /* SP_EL1 before the exception (read only) */

#ifdef __ASSEMBLER__

/* ------------------------------------------------------------ reporting */
.macro PRINT str
    stp     x0, x30, [sp, #-16]!
    adr     x0, .Lpr_s\@
    bl      puts
    ldp     x0, x30, [sp], #16
    .pushsection .rodata.str, "a"
.Lpr_s\@: .asciz "\str"
    .popsection
.endm

.macro PASS name
    stp     x0, x30, [sp, #-16]!
    adr     x0, .Lps_s\@
    bl      report_pass
    ldp     x0, x30, [sp], #16
    .pushsection .rodata.str, "a"
.Lps_s\@: .asciz "\name"
    .popsection
.endm

.macro SKIP name, reason
    stp     x0, x30, [sp, #-16]!
    adr     x0, .Lsk_s\@
    bl      report_pass
    ldp     x0, x30, [sp], #16
    .pushsection .rodata.str, "a"
.Lsk_s\@: .ascii "\name"
    .ascii " (skipped: "
    .ascii "\reason"
    .asciz ")"
    .popsection
.endm

.macro FAIL name, detail
    stp     x0, x1, [sp, #-32]!
    str     x30, [sp, #16]
    adr     x0, .Lfl_n\@
    adr     x1, .Lfl_d\@
    bl      report_fail
    ldr     x30, [sp, #16]
    ldp     x0, x1, [sp], #32
    .pushsection .rodata.str, "a"
.Lfl_n\@: .asciz "\name"
.Lfl_d\@: .asciz "\detail"
    .popsection
.endm

/* got / expected are pushed first so that any register (x0..x30) may be used */
.macro CHECK name, reg, exp
    stp     x0, x1, [sp, #-48]!
    stp     x2, x30, [sp, #16]
    str     \reg, [sp, #32]
    ldr     x2, =\exp
    ldr     x1, [sp, #32]
    adr     x0, .Lck_s\@
    bl      report_check
    ldp     x2, x30, [sp, #16]
    ldp     x0, x1, [sp], #48
    .pushsection .rodata.str, "a"
.Lck_s\@: .asciz "\name"
    .popsection
.endm

.macro CHECKR name, reg, reg2
    stp     x0, x1, [sp, #-48]!
    stp     x2, x30, [sp, #16]
    stp     \reg, \reg2, [sp, #32]
    ldp     x1, x2, [sp, #32]
    adr     x0, .Lcr_s\@
    bl      report_check
    ldp     x2, x30, [sp, #16]
    ldp     x0, x1, [sp], #48
    .pushsection .rodata.str, "a"
.Lcr_s\@: .asciz "\name"
    .popsection
.endm

.macro CHECKM name, reg, mask, exp
    stp     x0, x1, [sp, #-48]!
    stp     x2, x30, [sp, #16]
    str     \reg, [sp, #32]
    ldr     x2, =\mask
    ldr     x1, [sp, #32]
    and     x1, x1, x2
    ldr     x2, =\exp
    adr     x0, .Lcm_s\@
    bl      report_check
    ldp     x2, x30, [sp, #16]
    ldp     x0, x1, [sp], #48
    .pushsection .rodata.str, "a"
.Lcm_s\@: .asciz "\name"
    .popsection
.endm

.macro CHECKMR name, reg, mask, expreg
    stp     x0, x1, [sp, #-48]!
    stp     x2, x30, [sp, #16]
    stp     \reg, \expreg, [sp, #32]
    ldr     x0, =\mask
    ldp     x1, x2, [sp, #32]
    and     x1, x1, x0
    adr     x0, .Lcmr_s\@
    bl      report_check
    ldp     x2, x30, [sp, #16]
    ldp     x0, x1, [sp], #48
    .pushsection .rodata.str, "a"
.Lcmr_s\@: .asciz "\name"
    .popsection
.endm

.macro EXPECT cond, name
    b.\cond .Lex_ok\@
    FAIL    "\name", "(condition not met)"
    b       .Lex_end\@
.Lex_ok\@:
    PASS    "\name"
.Lex_end\@:
.endm

/* ------------------------------------------------------------ exceptions */
.macro TRY resume
    stp     x0, x1, [sp, #-16]!
    ldr     x1, =exc_resume
    adr     x0, \resume
    str     x0, [x1]
    ldr     x1, =exc_caught
    str     xzr, [x1]
    ldp     x0, x1, [sp], #16
.endm

.macro ENDTRY
    stp     x0, x1, [sp, #-16]!
    ldr     x1, =exc_resume
    str     xzr, [x1]
    ldp     x0, x1, [sp], #16
.endm

.macro EXC_CHECK name, ec, elr=-1
    stp     x0, x1, [sp, #-32]!
    stp     x2, x30, [sp, #16]
    adr     x0, .Lec_s\@
    mov     x1, #\ec
    ldr     x2, =\elr
    bl      check_exc
    ldp     x2, x30, [sp, #16]
    ldp     x0, x1, [sp], #32
    .pushsection .rodata.str, "a"
.Lec_s\@: .asciz "\name"
    .popsection
.endm

.macro LDEXC reg, field
    ldr     \reg, =exc_\field
    ldr     \reg, [\reg]
.endm

.macro HOOK idx, handler
    stp     x0, x1, [sp, #-16]!
    ldr     x0, =exc_hooks
    ldr     x1, =\handler
    str     x1, [x0, #(\idx * 8)]
    ldp     x0, x1, [sp], #16
.endm

.macro UNHOOK idx
    stp     x0, x1, [sp, #-16]!
    ldr     x0, =exc_hooks
    str     xzr, [x0, #(\idx * 8)]
    ldp     x0, x1, [sp], #16
.endm

/* PSCI call through the HVC conduit: x0 = function id, x1..x3 = args,
 * result: the int32 in w0, sign-extended into x0.  (SMCCC: x0-x17 may be
 * clobbered by the callee.) */
.macro PSCI fn
    ldr     x0, =\fn
    hvc     #0
    sxtw    x0, w0
.endm

/* measured-section markers of the workload guests: MOVZ to XZR is an
 * architectural no-op (Rd=31 is XZR for MOVZ), encodings 0xd289a83f
 * ("MA") and 0xd288a9df ("EN") */
.macro MARK_BEGIN
    movz    xzr, #0x4d41
.endm
.macro MARK_END
    movz    xzr, #0x454e
.endm

#endif /* __ASSEMBLER__ */
#endif
