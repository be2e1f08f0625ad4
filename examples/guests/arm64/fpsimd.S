/*
 * fpsimd.S -- scalar floating point and Advanced SIMD at EL1 (MMU off).
 * All expected values are bit-exact IEEE 754 results (computed offline with
 * exact rational arithmetic); only PASS/FAIL lines are printed.
 *
 * References: Arm ARM D17.2 CPACR_EL1 (FPEN), D17.2.37 ESR_EL1 (EC 0x07),
 * C5.2 FPCR (RMode, FZ, DN) and FPSR (IOC, DZC, IXC, IDC, QC), the shared
 * floating-point pseudocode (FPRound, FPProcessNaN, FPDefaultNaN,
 * flush-to-zero), C7.2 SIMD&FP instruction descriptions (FADD, FMUL, FDIV, FSQRT, FMADD, FCVT, FCMP/FCMPE, SCVTF,
 * UCVTF, FCVTZS/ZU/NS/AS/MS/PS, FRINTX/FRINTA, FMAXNM, ADD, MUL, EXT, TBL,
 * ADDV, FMLA, SQADD, LD1, LD2, ST1).
 *
 * Checks:
 *   - CPACR_EL1.FPEN = 0: an FP instruction traps (EC 0x07, ELR = insn);
 *     FPEN = 0b11 enables FP/SIMD
 *   - FADD/FMUL/FDIV/FSQRT (double), FADD (single, ties-to-even), FMADD
 *     fused vs FMUL+FADD
 *   - FPCR.RMode: FDIV 1/3, FADD 1 + 2^-60, FCVT double->single, FRINTX
 *     under RN/RP/RM/RZ; FRINTA ties away
 *   - FPSR cumulative flags: exact op sets none, IXC, DZC (1/0 = +inf), IOC
 *     (sqrt(-1) = default NaN), flags accumulate, FCMP vs FCMPE on a quiet NaN
 *   - FCMP NZCV for less/equal/greater/unordered
 *   - SCVTF (also fixed-point), UCVTF rounding, FCVTZS/FCVTZU saturation
 *     with IOC, FCVTNS/FCVTAS/FCVTMS/FCVTPS rounding
 *   - NaN propagation with FPCR.DN = 0 (quiet payload kept, signalling NaN
 *     quietened + IOC), DN = 1 default NaN; FPCR.FZ flushes a denormal input
 *     (IDC); FMAXNM vs FMAX with a quiet NaN
 *   - SIMD: LD1 {2 regs}, ADD .4S (wrap), MUL .4S, EXT, TBL (out-of-range
 *     index -> 0), ADDV, FMLA .2D, LD2 de-interleave, ST1 {2 regs}, SQADD
 *     saturation sets FPSR.QC
 */
#include "lib/guest.h"

#define FPSR_IOC    0x01
#define FPSR_DZC    0x02
#define FPSR_IXC    0x10
#define FPSR_IDC    0x80
#define FPSR_QC     (1 << 27)
#define RM_RN       (0 << 22)
#define RM_RP       (1 << 22)
#define RM_RM       (2 << 22)
#define RM_RZ       (3 << 22)
#define FPCR_FZ     (1 << 24)
#define FPCR_DN     (1 << 25)

#define D_1_0       0x3ff0000000000000
#define D_2_0       0x4000000000000000
#define D_3_0       0x4008000000000000
#define D_QNAN_PAY  0x7ff8000000000123
#define D_SNAN_PAY  0x7ff0000000000123
#define D_DEFNAN    0x7ff8000000000000

/* dreg = 64-bit pattern (via x9) */
.macro LDD dreg, imm
    ldr     x9, =\imm
    fmov    \dreg, x9
.endm
/* check the bits of dreg */
.macro CHKD name, dreg, exp
    fmov    x9, \dreg
    CHECK   "\name", x9, \exp
.endm
.macro SETFPCR val
    ldr     x9, =\val
    msr     fpcr, x9
.endm
.macro CHKFPSR name, exp
    mrs     x9, fpsr
    CHECK   "\name", x9, \exp
.endm
/* check both 64-bit halves of a vector register */
.macro CHKV name, vreg, lo, hi
    mov     x9, \vreg\().d[0]
    mov     x10, \vreg\().d[1]
    CHECK   "\name (low)", x9, \lo
    CHECK   "\name (high)", x10, \hi
.endm

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!

    // ------------------------------------------------------------ CPACR_EL1.FPEN
    msr     cpacr_el1, xzr
    isb
    mov     x1, #1
    TRY     1f
fp_trap:
    fmov    d0, x1
1:  ENDTRY
    EXC_CHECK "FPEN=0: FP instruction traps, EC=0x07", EC_FP, fp_trap
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    mov     x1, #0x1234
    fmov    d0, x1
    fmov    x2, d0
    CHECK   "FPEN=0b11: FMOV to and from d0", x2, 0x1234
    msr     fpcr, xzr
    msr     fpsr, xzr

    // ------------------------------------------------------------ basic arithmetic
    LDD     d0, 0x3ff8000000000000  // 1.5
    LDD     d1, 0x4002000000000000  // 2.25
    fadd    d2, d0, d1
    CHKD    "FADD 1.5 + 2.25 = 3.75", d2, 0x400e000000000000
    CHKFPSR "exact FADD sets no FPSR flag", 0
    LDD     d0, D_3_0
    LDD     d1, 0x3fb999999999999a  // 0.1
    fmul    d2, d0, d1
    CHKD    "FMUL 3.0 * 0.1", d2, 0x3fd3333333333334
    CHKFPSR "inexact FMUL sets FPSR.IXC", FPSR_IXC
    LDD     d0, D_2_0
    fsqrt   d2, d0
    CHKD    "FSQRT 2.0", d2, 0x3ff6a09e667f3bcd
    ldr     w1, =0x4b800000         // 2^24 (single)
    fmov    s0, w1
    fmov    s1, #1.0
    fadd    s2, s0, s1
    fmov    w2, s2
    CHECK   "FADD single 2^24 + 1 = 2^24 (ties to even)", x2, 0x4b800000
    fmov    d3, #-1.25
    CHKD    "FMOV #-1.25", d3, 0xbff4000000000000
    fneg    d4, d3
    fabs    d5, d3
    fmov    x1, d4
    fmov    x2, d5
    CHECKR  "FNEG / FABS", x1, x2

    // fused multiply-add: (1 + 2^-30) * (1 - 2^-30) - 1 = -2^-60 exactly
    LDD     d0, 0x3ff0000000400000
    LDD     d1, 0x3fefffffff800000
    LDD     d2, 0xbff0000000000000
    fmadd   d3, d0, d1, d2
    CHKD    "FMADD fused: -2^-60", d3, 0xbc30000000000000
    fmul    d4, d0, d1
    fadd    d4, d4, d2
    CHKD    "FMUL then FADD rounds to 0", d4, 0

    // ------------------------------------------------------------ rounding modes
    LDD     d0, D_1_0
    LDD     d1, D_3_0
    LDD     d5, 0x3c30000000000000  // 2^-60
    LDD     d6, 0xbff0000000000000  // -1.0
    LDD     d7, 0x4004000000000000  // 2.5
    SETFPCR RM_RN
    fdiv    d2, d0, d1
    CHKD    "RN: 1/3", d2, 0x3fd5555555555555
    fcvt    s3, d2
    fmov    w3, s3
    CHECK   "RN: FCVT 1/3 to single", x3, 0x3eaaaaab
    frintx  d4, d7
    CHKD    "RN: FRINTX 2.5 = 2.0", d4, D_2_0
    SETFPCR RM_RP
    fdiv    d2, d0, d1
    CHKD    "RP: 1/3", d2, 0x3fd5555555555556
    fadd    d3, d0, d5
    CHKD    "RP: 1 + 2^-60", d3, 0x3ff0000000000001
    frintx  d4, d7
    CHKD    "RP: FRINTX 2.5 = 3.0", d4, D_3_0
    SETFPCR RM_RM
    fsub    d3, d6, d5
    CHKD    "RM: -1 - 2^-60", d3, 0xbff0000000000001
    fadd    d3, d0, d5
    CHKD    "RM: 1 + 2^-60", d3, D_1_0
    SETFPCR RM_RZ
    fdiv    d2, d0, d1
    fcvt    s3, d2
    fmov    w3, s3
    CHECK   "RZ: FCVT 1/3 to single", x3, 0x3eaaaaaa
    fsub    d3, d6, d5
    CHKD    "RZ: -1 - 2^-60", d3, 0xbff0000000000000
    frinta  d4, d7
    CHKD    "RZ: FRINTA 2.5 = 3.0 (ties away)", d4, D_3_0
    SETFPCR RM_RN

    // ------------------------------------------------------------ FPSR cumulative flags
    msr     fpsr, xzr
    LDD     d0, D_1_0
    movi    d1, #0
    fdiv    d2, d0, d1
    CHKD    "1/0 = +inf", d2, 0x7ff0000000000000
    CHKFPSR "1/0 sets DZC", FPSR_DZC
    fsqrt   d3, d6                  // sqrt(-1)
    CHKD    "sqrt(-1) = default NaN", d3, D_DEFNAN
    CHKFPSR "sqrt(-1) adds IOC", FPSR_DZC | FPSR_IOC
    LDD     d1, D_3_0
    fdiv    d2, d0, d1
    CHKFPSR "1/3 adds IXC (cumulative)", FPSR_DZC | FPSR_IOC | FPSR_IXC

    // ------------------------------------------------------------ FCMP
    LDD     d0, D_1_0
    LDD     d1, D_2_0
    LDD     d2, D_3_0
    LDD     d3, D_QNAN_PAY
    fcmp    d0, d1
    mrs     x1, nzcv
    CHECK   "FCMP 1 < 2: NZCV = 1000", x1, 0x80000000
    fcmp    d1, d1
    mrs     x1, nzcv
    CHECK   "FCMP 2 == 2: NZCV = 0110", x1, 0x60000000
    fcmp    d2, d1
    mrs     x1, nzcv
    CHECK   "FCMP 3 > 2: NZCV = 0010", x1, 0x20000000
    msr     fpsr, xzr
    fcmp    d3, d0
    mrs     x1, nzcv
    CHECK   "FCMP NaN: unordered NZCV = 0011", x1, 0x30000000
    CHKFPSR "FCMP quiet NaN: no IOC", 0
    fcmpe   d3, d0
    CHKFPSR "FCMPE quiet NaN: IOC", FPSR_IOC
    fcmp    d0, #0.0
    mrs     x1, nzcv
    CHECK   "FCMP 1 vs #0.0: NZCV = 0010", x1, 0x20000000

    // ------------------------------------------------------------ integer <-> FP
    mov     x1, #-7
    scvtf   d0, x1
    CHKD    "SCVTF -7", d0, 0xc01c000000000000
    mov     x1, #40
    scvtf   d0, x1, #4
    CHKD    "SCVTF 40, #4 fraction bits = 2.5", d0, 0x4004000000000000
    msr     fpsr, xzr
    ldr     x1, =0x8000000000000001
    ucvtf   d0, x1
    CHKD    "UCVTF 2^63+1 rounds to 2^63", d0, 0x43e0000000000000
    CHKFPSR "UCVTF inexact: IXC", FPSR_IXC
    LDD     d0, 0xc00599999999999a  // -2.7
    fcvtzs  x1, d0
    CHECK   "FCVTZS -2.7 = -2", x1, -2
    msr     fpsr, xzr
    LDD     d0, 0x4415af1d78b58c40  // 1e20
    fcvtzs  x1, d0
    CHECK   "FCVTZS 1e20 saturates", x1, 0x7fffffffffffffff
    CHKFPSR "FCVTZS overflow: IOC", FPSR_IOC
    LDD     d0, 0xbff0000000000000
    fcvtzu  x1, d0
    CHECK   "FCVTZU -1.0 saturates to 0", x1, 0
    LDD     d0, 0x4004000000000000  // 2.5
    LDD     d1, 0xc004000000000000  // -2.5
    fcvtns  x1, d0
    CHECK   "FCVTNS 2.5 = 2 (ties even)", x1, 2
    fcvtas  x1, d0
    CHECK   "FCVTAS 2.5 = 3 (ties away)", x1, 3
    fcvtms  x1, d1
    CHECK   "FCVTMS -2.5 = -3", x1, -3
    fcvtps  x1, d1
    CHECK   "FCVTPS -2.5 = -2", x1, -2
    fcvtzs  w1, d1
    CHECK   "FCVTZS 32-bit -2.5 = -2 (zero-extended)", x1, 0xfffffffe

    // ------------------------------------------------------------ NaNs, FZ
    msr     fpsr, xzr
    LDD     d0, D_QNAN_PAY
    LDD     d1, D_1_0
    fadd    d2, d0, d1
    CHKD    "DN=0: quiet NaN payload propagates", d2, D_QNAN_PAY
    CHKFPSR "quiet NaN operand: no IOC", 0
    LDD     d0, D_SNAN_PAY
    fadd    d2, d1, d0
    CHKD    "DN=0: signalling NaN is quietened", d2, D_QNAN_PAY
    CHKFPSR "signalling NaN operand: IOC", FPSR_IOC
    SETFPCR FPCR_DN
    LDD     d0, D_QNAN_PAY
    fadd    d2, d0, d1
    CHKD    "DN=1: default NaN", d2, D_DEFNAN
    SETFPCR 0
    LDD     d0, D_QNAN_PAY
    fmaxnm  d2, d0, d1
    CHKD    "FMAXNM(qNaN, 1.0) = 1.0", d2, D_1_0
    fmax    d2, d0, d1
    CHKD    "FMAX(qNaN, 1.0) = qNaN", d2, D_QNAN_PAY
    mov     x1, #1
    fmov    d0, x1                  // smallest denormal
    fmul    d2, d0, d1
    CHKD    "FZ=0: denormal * 1.0 = denormal", d2, 1
    msr     fpsr, xzr
    SETFPCR FPCR_FZ
    fmul    d2, d0, d1
    CHKD    "FZ=1: denormal input flushed to +0", d2, 0
    CHKFPSR "FZ=1: IDC", FPSR_IDC
    SETFPCR 0

    // ------------------------------------------------------------ Advanced SIMD
    ldr     x0, =vec_a
    ld1     {v0.4s, v1.4s}, [x0]    // v0 = 1,2,3,4  v1 = 10,20,30,0xffffffff
    add     v2.4s, v0.4s, v1.4s
    CHKV    "ADD .4S", v2, 0x000000160000000b, 0x0000000300000021
    ldr     x0, =vec_m
    ld1     {v5.4s}, [x0]           // 5,6,7,0x10000
    mul     v3.4s, v0.4s, v5.4s
    CHKV    "MUL .4S", v3, 0x0000000c00000005, 0x0004000000000015
    ext     v4.16b, v0.16b, v1.16b, #4
    CHKV    "EXT #4", v4, 0x0000000300000002, 0x0000000a00000004
    ldr     x0, =tbl_data
    ld1     {v6.16b, v7.16b}, [x0]  // v6 = table 0x10..0x1f, v7 = indexes
    tbl     v8.16b, {v6.16b}, v7.16b
    CHKV    "TBL (index >= 16 gives 0)", v8, 0x131200001e111f10, 0x1b1a191817161514
    addv    s9, v2.4s
    fmov    w1, s9
    CHECK   "ADDV .4S", x1, 69
    ldr     x0, =vec_fmla
    ld1     {v10.2d, v11.2d, v12.2d}, [x0]  // acc, a, b
    fmla    v10.2d, v11.2d, v12.2d
    CHKV    "FMLA .2D", v10, 0x401e000000000000, 0x3ff0000000000000
    ldr     x0, =vec_seq
    ld2     {v16.4s, v17.4s}, [x0]
    CHKV    "LD2 .4S even elements", v16, 0x0000000200000000, 0x0000000600000004
    CHKV    "LD2 .4S odd elements", v17, 0x0000000300000001, 0x0000000700000005
    ldr     x0, =st_buf
    st1     {v2.4s, v3.4s}, [x0]
    ldp     x1, x2, [x0, #16]
    CHECK   "ST1 {2 regs}: second register in memory", x1, 0x0000000c00000005
    ldr     x2, [x0]
    CHECK   "ST1 {2 regs}: first register in memory", x2, 0x000000160000000b
    msr     fpsr, xzr
    movi    v18.4s, #1
    mvni    v19.4s, #0x80, lsl #24  // 0x7fffffff
    sqadd   v20.4s, v19.4s, v18.4s
    CHKV    "SQADD saturates", v20, 0x7fffffff7fffffff, 0x7fffffff7fffffff
    CHKFPSR "SQADD saturation sets FPSR.QC", FPSR_QC

    ldp     x29, x30, [sp], #16
    ret

    .ltorg

    .section .rodata
    .balign 16
vec_a:      .word 1, 2, 3, 4
vec_b:      .word 10, 20, 30, 0xffffffff
vec_m:      .word 5, 6, 7, 0x10000
tbl_data:   .byte 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17
            .byte 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
            .byte 0x00, 0x0f, 0x01, 0x0e, 0x10, 0xff, 0x02, 0x03
            .byte 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b
vec_fmla:   .quad 0x3ff8000000000000, 0xbff0000000000000  // acc 1.5, -1.0
            .quad 0x4000000000000000, 0x3fe0000000000000  // a   2.0, 0.5
            .quad 0x4008000000000000, 0x4010000000000000  // b   3.0, 4.0
vec_seq:    .word 0, 1, 2, 3, 4, 5, 6, 7

    .bss
    .balign 16
st_buf:     .skip 64
