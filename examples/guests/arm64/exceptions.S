/*
 * exceptions.S -- synchronous exception entry and return at EL1 (MMU off).
 *
 * Arm ARM references: D1.10 "Exception entry" (ELR/SPSR/ESR/FAR, PSTATE on
 * entry), D1.10.2 "Exception vectors" (offsets 0x200 current EL with SP_ELx,
 * 0x400 lower EL using AArch64), D17.2.37 ESR_EL1 (EC, IL, ISS encodings),
 * D17.2 FAR_EL1, C6.2 ERET and the exception return rules (SPSR -> PSTATE,
 * illegal exception return), D8 (stage 1 translation disabled: Address size
 * fault for an address above the implemented PA size).
 *
 * Checks:
 *   - SVC #imm at EL1: EC 0x15, ISS = imm16, IL=1, ELR = next instruction,
 *     vector offset 0x200, SPSR = pre-exception NZCV + EL1h
 *   - PSTATE on entry: DAIF all masked in the handler (all clear before),
 *     SPSR.DAIF = 0, registers preserved through the handler
 *   - BRK #imm: EC 0x3c, ISS = imm16, ELR = the BRK
 *   - UDF: EC 0x00, ELR = the UDF
 *   - data abort, alignment fault (SCTLR_EL1.A=1): EC 0x25, DFSC 0x21, WnR for
 *     load and store, FAR = the unaligned address
 *   - data/instruction abort, Address size fault level 0 for an address just
 *     above the PA size (ID_AA64MMFR0_EL1.PARange): EC 0x25/0x21, FSC 0x00
 *   - PC alignment fault (BR to an address with bit 1 set): EC 0x22,
 *     ELR = FAR = the misaligned target
 *   - EL0 excursion via ERET with SPSR.M = EL0t: EL0 computes, SVC back:
 *     EC 0x15 at vector 0x400, SPSR.M = 0, ELR = after the SVC, EL0 registers
 *   - at EL0: MRS of an EL1 register is UNDEFINED (EC 0x00, vector 0x400);
 *     CNTVCT_EL0 with CNTKCTL_EL1.EL0VCTEN=0 traps (EC 0x18, ISS = Op0/Op2/
 *     Op1/CRn/Rt/CRm/Direction); WFI with SCTLR_EL1.nTWI=0 traps (EC 0x01)
 *   - ERET restores NZCV and DAIF from SPSR_EL1
 *   - illegal exception return (SPSR.M = EL2h, EL2 not implemented): PSTATE.IL
 *     set, the next instruction takes an Illegal State exception (EC 0x0e)
 *
 * Not checked by default: SP alignment fault (EC 0x26) -- QEMU 7.2 does not
 * implement SCTLR_ELx.SA/SA0 checking.  Build with -DWITH_SP_ALIGN to add
 * an EL0 SP-alignment check (SCTLR_EL1.SA0=1).
 */
#include "lib/guest.h"

#define SCTLR_A     (1 << 1)
#define SCTLR_SA0   (1 << 4)
#define SCTLR_NTWI  (1 << 16)

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!

    // ------------------------------------------------------------ SVC at EL1
    mov     x5, #0x5555
    mov     x1, #3
    cmp     x1, #3                  // Z=1 C=1
    TRY     1f
svc1:
    svc     #0x1234
svc1_next:
1:  ENDTRY
    EXC_CHECK "svc #0x1234 EC=0x15, ELR=next", EC_SVC64, svc1_next
    LDEXC   x1, esr
    CHECKM  "svc ISS = imm16", x1, 0x1ffffff, 0x1234
    LDEXC   x1, vec
    CHECK   "svc vector offset 0x200 (current EL, SP_ELx)", x1, 0x200
    LDEXC   x1, spsr
    CHECKM  "svc SPSR_EL1 NZCV and M = EL1h", x1, 0xf000001f, 0x60000005
    CHECK   "registers preserved across the exception", x5, 0x5555

    // ------------------------------------------------------------ PSTATE on entry (hook)
    HOOK    VEC_CUR_SPX_SYNC, svc_hook
    msr     daifclr, #0xf
    mov     x0, #7
    svc     #0
    msr     daifset, #0xf
    UNHOOK  VEC_CUR_SPX_SYNC
    ldr     x2, =hook_daif
    ldr     x1, [x2]
    CHECK   "DAIF masked on exception entry", x1, 0x3c0
    ldr     x1, [x2, #8]
    CHECKM  "SPSR_EL1.DAIF = pre-exception DAIF (clear)", x1, 0x3c0, 0
    CHECK   "handler-modified x0 returned by ERET", x0, 8

    // ------------------------------------------------------------ BRK
    TRY     1f
brk1:
    brk     #0x77
1:  ENDTRY
    EXC_CHECK "brk #0x77 EC=0x3c, ELR=brk", EC_BRK64, brk1
    LDEXC   x1, esr
    CHECKM  "brk ISS = imm16", x1, 0x1ffffff, 0x77

    // ------------------------------------------------------------ UDF
    TRY     1f
udf1:
    udf     #0x5a
1:  ENDTRY
    EXC_CHECK "udf EC=0x00, ELR=udf", EC_UNKNOWN, udf1
    LDEXC   x1, esr
    CHECKM  "udf ISS = 0", x1, 0x1ffffff, 0

    // ------------------------------------------------------------ alignment fault
    mrs     x20, sctlr_el1
    orr     x1, x20, #SCTLR_A
    msr     sctlr_el1, x1
    isb
    ldr     x0, =data_word + 1
    TRY     1f
ld_unal:
    ldr     x1, [x0]
1:  ENDTRY
    EXC_CHECK "unaligned ldr, SCTLR.A=1: EC=0x25, ELR", EC_DABT_CUR, ld_unal
    LDEXC   x1, esr
    CHECKM  "unaligned ldr DFSC=0x21 alignment, WnR=0", x1, 0x7f, 0x21
    LDEXC   x1, far
    ldr     x2, =data_word + 1
    CHECKR  "unaligned ldr FAR", x1, x2
    ldr     x0, =data_word + 4
    TRY     1f
st_unal:
    str     x1, [x0]
1:  ENDTRY
    EXC_CHECK "unaligned str, SCTLR.A=1: EC=0x25, ELR", EC_DABT_CUR, st_unal
    LDEXC   x1, esr
    CHECKM  "unaligned str DFSC=0x21, WnR=1", x1, 0x7f, 0x61
    LDEXC   x1, far
    ldr     x2, =data_word + 4
    CHECKR  "unaligned str FAR", x1, x2
    msr     sctlr_el1, x20
    isb

    // ------------------------------------------------------------ address size fault
    mrs     x1, id_aa64mmfr0_el1
    and     x1, x1, #0xf            // PARange -> PA bits
    adr     x2, pa_bits
    ldrb    w1, [x2, x1]
    mov     x21, #1
    lsl     x21, x21, x1            // x21 = first address above the PA range
    mov     x0, x21
    TRY     1f
ld_big:
    ldr     x1, [x0]
1:  ENDTRY
    EXC_CHECK "load above PA size, MMU off: EC=0x25", EC_DABT_CUR, ld_big
    LDEXC   x1, esr
    CHECKM  "load above PA size: address size fault level 0", x1, 0x7f, 0x00
    LDEXC   x1, far
    CHECKR  "load above PA size: FAR", x1, x21
    TRY     1f
    br      x21
1:  ENDTRY
    EXC_CHECK "branch above PA size: EC=0x21", EC_IABT_CUR
    LDEXC   x1, elr
    CHECKR  "branch above PA size: ELR", x1, x21
    LDEXC   x1, esr
    CHECKM  "branch above PA size: IFSC address size level 0", x1, 0x3f, 0x00

    // ------------------------------------------------------------ PC alignment
    adr     x22, pc_target
    add     x22, x22, #2
    TRY     1f
    br      x22
1:  ENDTRY
    EXC_CHECK "br to pc+2: PC alignment fault EC=0x22", EC_PC_ALIGN
    LDEXC   x1, elr
    CHECKR  "PC alignment: ELR = misaligned target", x1, x22
    LDEXC   x1, far
    CHECKR  "PC alignment: FAR = misaligned target", x1, x22

    // ------------------------------------------------------------ EL0 excursion
    mov     x5, #0
    TRY     1f
    adr     x0, el0_svc
    bl      enter_el0
1:  ENDTRY
    EXC_CHECK "EL0 svc #0x42: EC=0x15, ELR=next", EC_SVC64, el0_svc_next
    LDEXC   x1, vec
    CHECK   "EL0 svc vector offset 0x400 (lower EL, AArch64)", x1, 0x400
    LDEXC   x1, esr
    CHECKM  "EL0 svc ISS = imm16", x1, 0x1ffffff, 0x42
    LDEXC   x1, spsr
    CHECKM  "EL0 svc SPSR.M = EL0t, NZCV from EL0", x1, 0xf000001f, 0x60000000
    CHECK   "EL0 computed value", x5, 12
    ldr     x1, =el0_stack_top - 16
    CHECKR  "EL0 stack store/load through SP_EL0", x6, x1

    TRY     1f
    adr     x0, el0_mrs_sctlr
    bl      enter_el0
1:  ENDTRY
    EXC_CHECK "EL0 mrs sctlr_el1: UNDEFINED EC=0x00", EC_UNKNOWN, el0_mrs_sctlr
    LDEXC   x1, vec
    CHECK   "EL0 undefined: vector offset 0x400", x1, 0x400

    msr     cntkctl_el1, xzr        // EL0VCTEN = EL0PCTEN = 0
    isb
    TRY     1f
    adr     x0, el0_cntvct
    bl      enter_el0
1:  ENDTRY
    EXC_CHECK "EL0 mrs cntvct_el0, EL0VCTEN=0: EC=0x18", EC_SYSREG, el0_cntvct
    LDEXC   x1, esr
    // Op0=3 Op2=2 Op1=3 CRn=14 Rt=3 CRm=0 Direction=1 (read)
    CHECKM  "EL0 cntvct trap ISS", x1, 0x1ffffff, ((3 << 20) | (2 << 17) | (3 << 14) | (14 << 10) | (3 << 5) | 1)

    mrs     x20, sctlr_el1
    bic     x1, x20, #SCTLR_NTWI
    msr     sctlr_el1, x1
    isb
    TRY     1f
    adr     x0, el0_wfi
    bl      enter_el0
1:  ENDTRY
    msr     sctlr_el1, x20
    isb
    EXC_CHECK "EL0 wfi, SCTLR.nTWI=0: EC=0x01, ELR=wfi", EC_WFX, el0_wfi
    LDEXC   x1, esr
    CHECKM  "EL0 wfi trap ISS.TI = WFI", x1, 0x3, 0

#ifdef WITH_SP_ALIGN
    orr     x1, x20, #SCTLR_SA0
    msr     sctlr_el1, x1
    isb
    TRY     1f
    adr     x0, el0_sp_unal
    bl      enter_el0
1:  ENDTRY
    msr     sctlr_el1, x20
    isb
    EXC_CHECK "EL0 ldr via misaligned SP, SA0=1: EC=0x26", EC_SP_ALIGN, el0_sp_unal_ld
#endif

    // ------------------------------------------------------------ ERET restores NZCV, DAIF
    ldr     x1, =(0xa0000000 | 0x280 | SPSR_EL1H)   // N, C; D and I masked
    msr     spsr_el1, x1
    adr     x1, 1f
    msr     elr_el1, x1
    cmp     xzr, xzr                // Z=1 C=1 before ERET
    eret
1:  mrs     x2, nzcv
    mrs     x3, daif
    msr     daifset, #0xf
    CHECK   "ERET restores NZCV from SPSR (N,C)", x2, 0xa0000000
    CHECK   "ERET restores DAIF from SPSR (D,I)", x3, 0x280

    // ------------------------------------------------------------ illegal exception return
    ldr     x1, =(SPSR_DAIF | 0x9)  // M = EL2h: EL2 not implemented
    msr     spsr_el1, x1
    adr     x1, ill_next
    msr     elr_el1, x1
    TRY     1f
    eret
ill_next:
    nop
1:  ENDTRY
    EXC_CHECK "ERET to EL2h without EL2: illegal state EC=0x0e", EC_ILLEGAL, ill_next
    LDEXC   x1, spsr
    CHECKM  "illegal return: SPSR.IL=1, M=EL1h", x1, (1 << 20) | 0x1f, (1 << 20) | SPSR_EL1H
    mrs     x1, CurrentEL
    CHECK   "still at EL1 after illegal return", x1, (1 << 2)

    ldp     x29, x30, [sp], #16
    ret

/* hook for SVC at EL1: record DAIF in the handler and the SPSR, x0 += 1 */
svc_hook:
    mrs     x1, daif
    mrs     x2, spsr_el1
    ldr     x3, =hook_daif
    stp     x1, x2, [x3]
    ldr     x1, [x0, #0]
    add     x1, x1, #1
    str     x1, [x0, #0]
    ret

/* enter_el0: x0 = EL0 entry.  ERET to EL0t with DAIF clear, SP_EL0 = el0
 * stack.  Comes back only through an exception (TRY). */
enter_el0:
    msr     elr_el1, x0
    msr     spsr_el1, xzr
    ldr     x1, =el0_stack_top
    msr     sp_el0, x1
    eret

/* ------------------------------------------------------------ EL0 code */
el0_svc:
    mov     x5, #5
    add     x5, x5, #7
    sub     sp, sp, #16
    mov     x6, sp
    str     x6, [sp]
    ldr     x6, [sp]
    add     sp, sp, #16
    cmp     x5, #12                 // Z=1 C=1
    svc     #0x42
el0_svc_next:
    b       .

el0_mrs_sctlr:
    mrs     x0, sctlr_el1
    b       .

el0_cntvct:
    mrs     x3, cntvct_el0
    b       .

el0_wfi:
    wfi
    b       .

#ifdef WITH_SP_ALIGN
el0_sp_unal:
    mov     x1, sp
    sub     x1, x1, #8
    mov     sp, x1
el0_sp_unal_ld:
    ldr     x2, [sp]
    svc     #0                      // no fault: come back (check fails)
#endif

/* branch target for the PC alignment test (never reached aligned) */
    .balign 8
pc_target:
    nop
    nop
    b       .

pa_bits:    .byte 32, 36, 40, 42, 44, 48, 52, 52, 52, 52, 52, 52, 52, 52, 52, 52
    .balign 4

    .ltorg

    .bss
    .balign 16
hook_daif:  .skip 16
data_word:  .skip 16
    .balign 16
el0_stack:  .skip 4096
el0_stack_top:
