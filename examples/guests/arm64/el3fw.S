/*
 * el3fw.S -- a tiny EL3 firmware image for `-M virt,secure=on -bios` (raw
 * binary bin/el3fw.bin, linked at 0x0: flash bank 0, where the CPU starts at
 * EL3).  It prints its EL on the PL011, installs VBAR_EL3, sets SCR_EL3
 * (NS, HCE, RW) and HCR_EL2.RW, copies its EL1 part to RAM at 0x40080000
 * (QEMU's flash is Secure-only with secure=on) and ERETs there at EL1h.  The
 * EL1 part prints its EL and calls PSCI SYSTEM_OFF with SMC #0; no PSCI model
 * answers (secure=on), so the SMC is taken to EL3 (EC 0x17), whose handler
 * prints the function id and ends the run with semihosting SYS_EXIT
 * (ADP_Stopped_ApplicationExit, status 0).  Run with -semihosting /
 * --semihosting; without it the HLT is UNDEFINED and taken to the empty
 * current-EL vector (zeros, UDF), which faults again forever.
 */

    .text
_start:
    ldr     x20, =0x09000000
    adr     x0, s_el3
    bl      puts
    mrs     x0, CurrentEL
    bl      putel
    adr     x0, vectors
    msr     vbar_el3, x0
    mov     x0, #(1 | 1 << 8 | 1 << 10)     // SCR_EL3: NS, HCE, RW
    msr     scr_el3, x0
    mov     x0, #(1 << 31)                  // HCR_EL2.RW
    msr     hcr_el2, x0
    mov     x0, #0x3c5                      // EL1h, DAIF masked
    msr     spsr_el3, x0
    adr     x0, el1                         // copy the EL1 part to RAM (QEMU's
    adr     x1, el1_end                     // flash is Secure-only with secure=on)
    ldr     x2, =0x40080000
6:  ldr     w3, [x0], #4
    str     w3, [x2], #4
    cmp     x0, x1
    b.lo    6b
    ldr     x0, =0x40080000
    msr     elr_el3, x0
    ldr     x0, =0x40100000
    msr     sp_el1, x0
    isb
    eret
el1:
    adr     x0, s_el1
    bl      puts
    mrs     x0, CurrentEL
    bl      putel
    mov     x0, #0x0008                     // PSCI SYSTEM_OFF 0x84000008
    movk    x0, #0x8400, lsl #16
    smc     #0
    adr     x0, s_ret
    bl      puts
1:  b       1b

// x0 = CurrentEL value: prints "EL<n>\n"
putel:
    mov     x2, x30
    ubfx    x1, x0, #2, #2
    mov     w0, #'E'
    bl      putc
    mov     w0, #'L'
    bl      putc
    add     w0, w1, #'0'
    bl      putc
    mov     w0, #'\n'
    bl      putc
    ret     x2
puts:
    mov     x3, x30
    mov     x4, x0
2:  ldrb    w0, [x4], #1
    cbz     w0, 3f
    bl      putc
    b       2b
3:  ret     x3
putc:
    ldr     w5, [x20, #0x18]
    tbnz    w5, #5, putc
    str     w0, [x20]
    ret
s_el3:  .asciz "firmware at "
s_el1:  .asciz "kernel at "
s_smc:  .asciz "EL3: SMC from EL1, "
s_off:  .asciz "PSCI SYSTEM_OFF\n"
s_bad:  .asciz "unexpected\n"
s_ret:  .asciz "SMC returned\n"
    .balign 4
el1_end:

lower_sync:
    ldr     x20, =0x09000000
    mov     x19, x0
    adr     x0, s_smc
    bl      puts
    mrs     x0, esr_el3
    lsr     x0, x0, #26
    cmp     x0, #0x17                       // EC: SMC from AArch64
    b.ne    4f
    ldr     x1, =0x84000008
    cmp     x19, x1
    b.ne    4f
    adr     x0, s_off
    bl      puts
    adr     x1, exitblk
    mov     w0, #0x18                       // SYS_EXIT
    hlt     #0xf000
4:  adr     x0, s_bad
    bl      puts
5:  b       5b

    .balign 2048
vectors:
    .skip   0x400
    b       lower_sync                      // lower EL, AArch64, synchronous
    .balign 0x80
    .skip   0x380

    .balign 8
exitblk: .quad 0x20026, 0
    .balign 8
    .ltorg
