/*
 * lib/base.S -- entry, PL011 output, PASS/FAIL/DONE reporting, PSCI
 * SYSTEM_OFF and the EL1 exception vector table shared by every chimera
 * AArch64 test guest.  Linked into every image (see ../Makefile).
 *
 * Boot contract (QEMU `-M virt -cpu max -kernel x.elf`, and chimera's virt):
 * the ELF is loaded at 0x40080000 and entered at _start at EL1, MMU and caches
 * off, no stack.  _start masks DAIF, selects SP_EL1 (SPSel=1), zeroes .bss,
 * sets SP to a 16 KiB stack, enables the PL011 transmitter, installs
 * VBAR_EL1 = vector_table and calls main.  When main returns, `done` prints
 * "DONE <npass> passed, <nfail> failed" and calls PSCI SYSTEM_OFF (HVC #0).
 *
 * Exception vectors (Arm ARM D1.10.2 "Exception vectors", table D1-5): 16
 * entries of 0x80 bytes; each pushes a FRAME_SIZE frame on SP_EL1 holding
 * x0-x30, ELR_EL1, SPSR_EL1, ESR_EL1 (D17.2.37), FAR_EL1, the vector offset
 * and SP_EL0, then dispatches:
 *   1. a hook installed for the entry (HOOK macro): called with x0 = frame;
 *   2. else a catch armed by TRY: the syndrome is recorded in exc_*, the frame
 *      is resumed at the TRY label at EL1h with DAIF masked (SPSR = 0x3c5);
 *   3. else "FAIL: unexpected exception vec=.. esr=.. elr=.. far=.." and DONE.
 * Returning restores SP_EL0, ELR_EL1, SPSR_EL1 and x0-x30 from the frame and
 * executes ERET (Arm ARM C6.2 ERET).
 */
#include "guest.h"

    .section .text.boot, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    msr     spsel, #1
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:  ldr     x0, =boot_stack_top
    mov     sp, x0
    ldr     x0, =UART0
    mov     w1, #0x301                  // UARTCR: UARTEN | TXE | RXE
    str     w1, [x0, #UART_CR]
    ldr     x0, =vector_table
    msr     vbar_el1, x0
    isb
    bl      main
    .global done
done:
    adr     x0, s_done
    bl      puts
    ldr     x0, =npass
    ldr     x0, [x0]
    bl      putdec
    adr     x0, s_passed
    bl      puts
    ldr     x0, =nfail
    ldr     x0, [x0]
    bl      putdec
    adr     x0, s_failed
    bl      puts
    .global system_off
system_off:
    ldr     x0, =PSCI_SYSTEM_OFF
    hvc     #0
3:  wfi                                 // no PSCI: stop here
    b       3b

    .text
/* ------------------------------------------------------------ output */
/* putc: w0 = byte.  Preserves all registers except NZCV. */
    .global putc
putc:
    stp     x9, x10, [sp, #-16]!
    ldr     x9, =UART0
1:  ldr     w10, [x9, #UART_FR]
    tbnz    w10, #UART_FR_TXFF, 1b
    and     w10, w0, #0xff
    str     w10, [x9, #UART_DR]
    ldp     x9, x10, [sp], #16
    ret

/* puts: x0 = NUL-terminated string.  Preserves all registers. */
    .global puts
puts:
    stp     x0, x30, [sp, #-32]!
    str     x1, [sp, #16]
    mov     x1, x0
1:  ldrb    w0, [x1], #1
    cbz     w0, 2f
    bl      putc
    b       1b
2:  ldr     x1, [sp, #16]
    ldp     x0, x30, [sp], #32
    ret

/* puthex: x0 -> "0x" + hex digits without leading zeros.
 * puthex16: x0 -> "0x" + exactly 16 hex digits.  Preserve all registers. */
    .global puthex, puthex16
puthex16:
    stp     x0, x30, [sp, #-48]!
    stp     x1, x2, [sp, #16]
    stp     x3, x4, [sp, #32]
    mov     x3, #1                      // print every digit
    b       1f
puthex:
    stp     x0, x30, [sp, #-48]!
    stp     x1, x2, [sp, #16]
    stp     x3, x4, [sp, #32]
    mov     x3, #0                      // nothing printed yet
1:  mov     x1, x0
    mov     w0, #'0'
    bl      putc
    mov     w0, #'x'
    bl      putc
    mov     x2, #16
2:  ror     x1, x1, #60                 // next nibble into bits 3:0
    and     x4, x1, #0xf
    cmp     x2, #1
    b.eq    3f                          // always print the last digit
    cbnz    x3, 3f
    cbz     x4, 5f
3:  mov     x3, #1
    add     w0, w4, #'0'
    cmp     w4, #10
    b.lo    4f
    add     w0, w4, #('a' - 10)
4:  bl      putc
5:  subs    x2, x2, #1
    b.ne    2b
    ldp     x3, x4, [sp, #32]
    ldp     x1, x2, [sp, #16]
    ldp     x0, x30, [sp], #48
    ret

/* putdec: x0 unsigned decimal.  Preserves all registers. */
    .global putdec
putdec:
    stp     x0, x30, [sp, #-64]!
    stp     x1, x2, [sp, #16]
    stp     x3, x4, [sp, #32]           // [sp,#48..63]: digit buffer
    add     x3, sp, #64                 // fill backwards from the end
    mov     x4, #10
1:  udiv    x1, x0, x4
    msub    x2, x1, x4, x0
    add     w2, w2, #'0'
    strb    w2, [x3, #-1]!
    mov     x0, x1
    cbnz    x0, 1b
2:  ldrb    w0, [x3], #1
    bl      putc
    add     x1, sp, #64
    cmp     x3, x1
    b.lo    2b
    ldp     x3, x4, [sp, #32]
    ldp     x1, x2, [sp, #16]
    ldp     x0, x30, [sp], #64
    ret

/* print_sum: x0 -> "sum=0x<16 hex digits>\n" (workload guests).  Preserves all. */
    .global print_sum
print_sum:
    stp     x0, x30, [sp, #-16]!
    adr     x0, s_sum
    bl      puts
    ldr     x0, [sp]
    bl      puthex16
    bl      putnl
    ldp     x0, x30, [sp], #16
    ret

putnl:
    stp     x0, x30, [sp, #-16]!
    mov     w0, #'\n'
    bl      putc
    ldp     x0, x30, [sp], #16
    ret

/* ------------------------------------------------------------ reporting */
/* report_pass: x0 = name.  Preserves x0-x30. */
    .global report_pass
report_pass:
    stp     x0, x30, [sp, #-32]!
    str     x1, [sp, #16]
    mov     x1, x0
    adr     x0, s_pass
    bl      puts
    mov     x0, x1
    bl      puts
    bl      putnl
    ldr     x0, =npass
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    ldr     x1, [sp, #16]
    ldp     x0, x30, [sp], #32
    ret

/* failhdr: x0 = name -> "FAIL: name", nfail++.  Preserves x0-x30. */
failhdr:
    stp     x0, x30, [sp, #-32]!
    str     x1, [sp, #16]
    mov     x1, x0
    adr     x0, s_fail
    bl      puts
    mov     x0, x1
    bl      puts
    ldr     x0, =nfail
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    ldr     x1, [sp, #16]
    ldp     x0, x30, [sp], #32
    ret

/* report_fail: x0 = name, x1 = detail.  Preserves x0-x30. */
    .global report_fail
report_fail:
    stp     x0, x30, [sp, #-16]!
    bl      failhdr
    mov     w0, #' '
    bl      putc
    mov     x0, x1
    bl      puts
    bl      putnl
    ldp     x0, x30, [sp], #16
    ret

/* report_check: x0 = name, x1 = got, x2 = expected.  Preserves x0-x30. */
    .global report_check
report_check:
    cmp     x1, x2
    b.eq    report_pass
    stp     x0, x30, [sp, #-16]!
    bl      failhdr
    adr     x0, s_got
    bl      puts
    mov     x0, x1
    bl      puthex
    adr     x0, s_exp
    bl      puts
    mov     x0, x2
    bl      puthex
    bl      putnl
    ldp     x0, x30, [sp], #16
    ret

/* check_exc: x0 = name, x1 = expected EC, x2 = expected ELR (-1: any).
 * PASS if exactly one exception was caught since TRY with ESR.EC == x1,
 * ESR.IL == 1 and ELR matching.  Preserves x0-x30. */
    .global check_exc
check_exc:
    stp     x0, x30, [sp, #-48]!
    stp     x3, x4, [sp, #16]
    stp     x5, x6, [sp, #32]
    ldr     x3, =exc_caught
    ldr     x4, [x3]
    cmp     x4, #1
    b.ne    2f
    ldr     x4, [x3, #(exc_esr - exc_caught)]
    ubfx    x5, x4, #26, #6
    cmp     x5, x1
    b.ne    3f
    tbz     x4, #25, 3f                 // IL: 32-bit instruction
    cmn     x2, #1
    b.eq    1f
    ldr     x5, [x3, #(exc_elr - exc_caught)]
    cmp     x5, x2
    b.ne    3f
1:  bl      report_pass
    b       9f
2:  bl      failhdr                     // none or more than one
    adr     x0, s_nexc
    bl      puts
    mov     x0, x4
    bl      putdec
    bl      putnl
    b       9f
3:  bl      failhdr
    adr     x0, s_esr
    bl      puts
    mov     x0, x4
    bl      puthex
    adr     x0, s_elr
    bl      puts
    ldr     x0, [x3, #(exc_elr - exc_caught)]
    bl      puthex
    bl      putnl
9:  ldp     x5, x6, [sp, #32]
    ldp     x3, x4, [sp, #16]
    ldp     x0, x30, [sp], #48
    ret

/* ------------------------------------------------------------ vectors */
.macro VENTRY off
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, #\off
    b       exc_common
.endm

    .balign 2048
    .global vector_table
vector_table:
    VENTRY 0x000        // current EL, SP_EL0: sync
    VENTRY 0x080        //                     IRQ
    VENTRY 0x100        //                     FIQ
    VENTRY 0x180        //                     SError
    VENTRY 0x200        // current EL, SP_ELx: sync
    VENTRY 0x280        //                     IRQ
    VENTRY 0x300        //                     FIQ
    VENTRY 0x380        //                     SError
    VENTRY 0x400        // lower EL, AArch64:  sync
    VENTRY 0x480        //                     IRQ
    VENTRY 0x500        //                     FIQ
    VENTRY 0x580        //                     SError
    VENTRY 0x600        // lower EL, AArch32:  sync
    VENTRY 0x680        //                     IRQ
    VENTRY 0x700        //                     FIQ
    VENTRY 0x780        //                     SError

exc_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    str     x30, [sp, #240]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    stp     x1, x2, [sp, #F_ELR]
    mrs     x3, esr_el1
    mrs     x4, far_el1
    stp     x3, x4, [sp, #F_ESR]
    mrs     x5, sp_el0
    stp     x0, x5, [sp, #F_VEC]
    add     x6, sp, #FRAME_SIZE
    str     x6, [sp, #F_SP]
    mov     x19, sp                     // x19 = frame
    // 1. hook for this entry?
    ldr     x7, =exc_hooks
    lsr     x8, x0, #7
    ldr     x7, [x7, x8, lsl #3]
    cbz     x7, 1f
    mov     x0, x19
    blr     x7
    b       exc_return
    // 2. armed catch?
1:  ldr     x7, =exc_resume
    ldr     x8, [x7]
    cbz     x8, 2f
    str     xzr, [x7]                   // disarm
    ldr     x7, =exc_caught
    ldr     x9, [x7]
    add     x9, x9, #1
    str     x9, [x7]
    ldr     x0, [x19, #F_VEC]
    stp     x3, x4, [x7, #(exc_esr - exc_caught)]
    stp     x1, x2, [x7, #(exc_elr - exc_caught)]
    str     x0, [x7, #(exc_vec - exc_caught)]
    mov     x9, #(SPSR_DAIF | SPSR_EL1H)
    stp     x8, x9, [x19, #F_ELR]
    b       exc_return
    // 3. unexpected
2:  adr     x0, s_unexp
    bl      failhdr
    adr     x0, s_vec
    bl      puts
    ldr     x0, [x19, #F_VEC]
    bl      puthex
    adr     x0, s_esr
    bl      puts
    ldr     x0, [x19, #F_ESR]
    bl      puthex
    adr     x0, s_elr
    bl      puts
    ldr     x0, [x19, #F_ELR]
    bl      puthex
    adr     x0, s_far
    bl      puts
    ldr     x0, [x19, #F_FAR]
    bl      puthex
    bl      putnl
    b       done

    .global exc_return
exc_return:                             // sp = frame
    ldp     x1, x2, [sp, #F_ELR]
    msr     elr_el1, x1
    msr     spsr_el1, x2
    ldr     x1, [sp, #F_SP_EL0]
    msr     sp_el0, x1
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #240]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret

    .ltorg

    .section .rodata.str, "a"
s_pass:     .asciz "PASS: "
s_sum:      .asciz "sum="
s_fail:     .asciz "FAIL: "
s_got:      .asciz " got="
s_exp:      .asciz " exp="
s_done:     .asciz "DONE "
s_passed:   .asciz " passed, "
s_failed:   .asciz " failed\n"
s_nexc:     .asciz " exceptions caught="
s_unexp:    .asciz "unexpected exception"
s_vec:      .asciz " vec="
s_esr:      .asciz " esr="
s_elr:      .asciz " elr="
s_far:      .asciz " far="

    .bss
    .balign 16
    .global npass, nfail
npass:      .skip 8
nfail:      .skip 8
    .global exc_hooks, exc_resume, exc_caught, exc_esr, exc_far, exc_elr, exc_spsr, exc_vec
exc_hooks:  .skip 16 * 8
exc_resume: .skip 8
exc_caught: .skip 8     // number of exceptions caught since TRY
exc_esr:    .skip 8     // (esr, far) and (elr, spsr) are stored as pairs
exc_far:    .skip 8
exc_elr:    .skip 8
exc_spsr:   .skip 8
exc_vec:    .skip 8     // vector offset (0x000 .. 0x780)
    .balign 16
boot_stack: .skip 16384
    .global boot_stack_top
boot_stack_top:
