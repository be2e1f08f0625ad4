; interrupts.asm -- 8259 PIC + PIT, PIT channel 2 gate, local APIC (SVR,
; one-shot/periodic/TSC-deadline timer, self-IPI, EOI, TPR), IOAPIC routing of
; the PIT (GSI 2) and the RTC periodic interrupt (GSI 8), x2APIC (if present),
; CMOS RTC time registers and the HPET.
%include "lib/base.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

APIC    equ 0xFEE00000
IOAPIC  equ 0xFEC00000
HPET    equ 0xFED00000
WAIT_ITERS equ 20000000

%macro APIC_W 2
    mov r11, APIC
    mov dword [r11 + (%1)], %2
%endmacro
%macro APIC_R 1                 ; -> eax
    mov r11, APIC
    mov eax, [r11 + (%1)]
%endmacro

section .bss
cnt:        resd 16             ; interrupt counters, see the hooks
isr_seen:   resd 1
rtc_c:      resd 1
cmos_val:   resb 16
section .text

bits 32
main32:
    jmp enter_long

bits 64
; wait_ge: rdi = dword counter, esi = target; sti while waiting (bounded).
; returns ZF=1 (e) if reached
wait_ge:
    push rcx
    mov ecx, WAIT_ITERS
    sti
.l: cmp [rdi], esi
    jae .ok
    pause
    dec ecx
    jnz .l
    cli
    pop rcx
    or ecx, 1                   ; ZF=0
    ret
.ok:cli
    pop rcx
    xor ecx, ecx                ; ZF=1
    ret

%macro WAIT_CNT 2               ; counter index, target
    mov rdi, cnt + (%1)*4
    mov esi, %2
    call wait_ge
%endmacro

apic_eoi:
    mov r11, APIC
    mov dword [r11 + 0xb0], 0
    ret

; hooks ------------------------------------------------------------------
h_pic_timer:                    ; 0x20: PIT via 8259
    inc dword [cnt + 0*4]
    mov al, 0x20
    out 0x20, al
    ret
h_apic_oneshot:                 ; 0x40
    inc dword [cnt + 1*4]
    jmp apic_eoi
h_apic_periodic:                ; 0x41
    inc dword [cnt + 2*4]
    jmp apic_eoi
h_apic_deadline:                ; 0x42
    inc dword [cnt + 3*4]
    jmp apic_eoi
h_ipi:                          ; 0x50
    inc dword [cnt + 4*4]
    APIC_R 0x120                ; ISR bits 95:64 -> vector 0x50 is bit 16
    mov [isr_seen], eax
    jmp apic_eoi
h_low:                          ; 0x51 (priority class 5)
    inc dword [cnt + 5*4]
    jmp apic_eoi
h_high:                         ; 0x71 (priority class 7)
    inc dword [cnt + 6*4]
    jmp apic_eoi
h_ioapic_pit:                   ; 0x60
    inc dword [cnt + 7*4]
    jmp apic_eoi
h_rtc:                          ; 0x68
    inc dword [cnt + 8*4]
    mov al, 0x0c
    out 0x70, al
    in al, 0x71
    mov [rtc_c], al
    jmp apic_eoi
h_x2:                           ; 0x52 (x2APIC self IPI)
    inc dword [cnt + 9*4]
    mov ecx, 0x80b              ; x2APIC EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    ret
h_spurious:
    ret

%macro IOAPIC_W 2               ; register, value
    mov r11, IOAPIC
    mov dword [r11], %1
    mov dword [r11 + 0x10], %2
%endmacro
%macro IOAPIC_R 1
    mov r11, IOAPIC
    mov dword [r11], %1
    mov eax, [r11 + 0x10]
%endmacro
%macro CMOS_R 1                 ; -> al
    mov al, %1
    out 0x70, al
    in al, 0x71
%endmacro
%macro CMOS_W 2
    mov al, %1
    out 0x70, al
    mov al, %2
    out 0x71, al
%endmacro

main64:
    HOOK 0x20, h_pic_timer
    HOOK 0x27, h_spurious
    HOOK 0x2f, h_spurious
    HOOK 0xff, h_spurious
    HOOK 0x40, h_apic_oneshot
    HOOK 0x41, h_apic_periodic
    HOOK 0x42, h_apic_deadline
    HOOK 0x50, h_ipi
    HOOK 0x51, h_low
    HOOK 0x71, h_high
    HOOK 0x60, h_ioapic_pit
    HOOK 0x68, h_rtc
    HOOK 0x52, h_x2

    ; ------------------------------------------------------ local APIC enable
    mov ecx, 0x1b
    rdmsr
    and eax, 0xfffff900         ; base | enable | BSP
    CHECK "IA32_APIC_BASE (0xfee00000, EN, BSP)", 0xfee00900
    APIC_W 0xf0, 0x1ff          ; SVR: enable, spurious vector 0xff
    APIC_W 0x80, 0              ; TPR
    APIC_W 0x350, 0x700         ; LINT0: ExtINT (8259 passthrough)
    APIC_W 0x360, 0x400         ; LINT1: NMI
    APIC_R 0xf0
    and eax, 0x1ff
    CHECK "APIC enable via SVR", 0x1ff
    mov eax, 1
    cpuid
    shr ebx, 24
    APIC_R 0x20
    shr eax, 24
    cmp eax, ebx
    EXPECT e, "APIC ID matches CPUID.1 EBX[31:24]"
    APIC_R 0x30
    and eax, 0xff
    cmp eax, 0x10
    EXPECT ae, "APIC version register (integrated)"

    ; ------------------------------------------------------ 8259 PIC + PIT
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al                ; master base 0x20
    mov al, 0x28
    out 0xa1, al                ; slave base 0x28
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe                ; only IRQ0
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    in al, 0x21
    movzx eax, al
    CHECK "8259 PIC remap (IMR readback)", 0xfe

    mov al, 0x34                ; ch0, lo/hi, mode 2
    out 0x43, al
    mov ax, 1193                ; ~1 kHz
    out 0x40, al
    mov al, ah
    out 0x40, al
    WAIT_CNT 0, 5
    EXPECT e, "PIT channel 0 periodic IRQ0 via 8259 (vector 0x20)"
    mov al, 0xff
    out 0x21, al

    ; ------------------------------------------------------ PIT channel 2
    in al, 0x61
    and al, 0xfc
    or al, 1                    ; gate 2 on, speaker off
    out 0x61, al
    mov al, 0xb0                ; ch2, lo/hi, mode 0
    out 0x43, al
    mov ax, 2000
    out 0x42, al
    mov al, ah
    out 0x42, al
    in al, 0x61
    test al, 0x20
    jnz .c2bad
    mov ecx, WAIT_ITERS
.c2l:
    in al, 0x61
    test al, 0x20
    jnz .c2ok
    dec ecx
    jnz .c2l
.c2bad:
    FAIL "PIT channel 2 gate/output via port 0x61", "OUT2 did not go low->high"
    jmp .c2d
.c2ok:
    PASS "PIT channel 2 gate/output via port 0x61"
.c2d:
    in al, 0x61
    and al, 0xfc
    out 0x61, al

    ; ------------------------------------------------------ APIC timer
    APIC_W 0x3e0, 0xb           ; divide by 1
    APIC_W 0x320, 0x40          ; one-shot, vector 0x40
    APIC_W 0x380, 200000
    APIC_R 0x390
    cmp eax, 200000
    ja .tcbad
    test eax, eax
    jz .tcbad
    PASS "APIC timer current count loaded"
    jmp .tcok
.tcbad:
    FAIL "APIC timer current count loaded", "bad current count"
.tcok:
    WAIT_CNT 1, 1
    EXPECT e, "APIC timer one-shot interrupt"
    APIC_R 0x390
    CHECK "APIC timer one-shot count reaches 0", 0
    mov eax, [cnt + 1*4]
    CHECK "APIC timer one-shot fires once", 1

    APIC_W 0x320, 0x20041       ; periodic, vector 0x41
    APIC_W 0x380, 100000
    WAIT_CNT 2, 5
    EXPECT e, "APIC timer periodic (5 interrupts)"
    APIC_W 0x320, 0x10041       ; mask
    APIC_W 0x380, 0

    mov eax, 1
    cpuid
    bt ecx, 24
    jnc .nodl
    APIC_W 0x320, 0x40042       ; TSC-deadline mode, vector 0x42
    rdtsc
    shl rdx, 32
    or rax, rdx
    add rax, 200000
    mov rdx, rax
    shr rdx, 32
    mov ecx, 0x6e0
    wrmsr
    WAIT_CNT 3, 1
    EXPECT e, "APIC TSC-deadline timer"
    mov ecx, 0x6e0
    rdmsr
    or eax, edx
    CHECK "IA32_TSC_DEADLINE cleared after firing", 0
    APIC_W 0x320, 0x10042
    jmp .dld
.nodl:
    PASS "APIC TSC-deadline timer (skipped: no tsc-deadline)"
    PASS "IA32_TSC_DEADLINE cleared after firing (skipped: no tsc-deadline)"
.dld:

    ; ------------------------------------------------------ self IPI + EOI
    APIC_W 0x310, 0
    APIC_W 0x300, 0x40050       ; fixed, shorthand self, vector 0x50
    mov ecx, 100000
.icr:
    APIC_R 0x300
    test eax, 0x1000            ; delivery status
    jz .icrok
    dec ecx
    jnz .icr
.icrok:
    WAIT_CNT 4, 1
    EXPECT e, "self IPI via ICR"
    mov eax, [isr_seen]
    and eax, 1 << 16
    CHECK "ISR bit set in handler", 1 << 16
    APIC_R 0x120
    and eax, 1 << 16
    CHECK "EOI clears ISR bit", 0

    ; ------------------------------------------------------ TPR
    APIC_W 0x80, 0x60           ; block classes <= 6
    APIC_W 0x300, 0x40051       ; class 5
    sti
    mov ecx, 20000
.tp1:
    pause
    loop .tp1
    cli
    mov eax, [cnt + 5*4]
    CHECK "TPR holds lower-priority interrupt", 0
    APIC_R 0x220                ; IRR bits 95:64 -> 0x51 is bit 17
    and eax, 1 << 17
    CHECK "held interrupt pending in IRR", 1 << 17
    APIC_W 0x300, 0x40071       ; class 7: above TPR
    WAIT_CNT 6, 1
    EXPECT e, "higher-priority interrupt passes TPR"
    mov eax, [cnt + 5*4]
    CHECK "lower one still held", 0
    APIC_W 0x80, 0
    WAIT_CNT 5, 1
    EXPECT e, "interrupt delivered after TPR lowered"

    ; ------------------------------------------------------ IOAPIC
    APIC_W 0x350, 0x10700       ; mask LINT0 (PIC path)
    IOAPIC_R 1
    shr eax, 16
    and eax, 0xff
    cmp eax, 15
    EXPECT ae, "IOAPIC version (>= 16 redirection entries)"
    IOAPIC_W 0x15, 0            ; GSI 2 -> APIC 0
    IOAPIC_W 0x14, 0x60         ; vector 0x60, fixed, edge, unmasked
    WAIT_CNT 7, 3
    EXPECT e, "IOAPIC GSI 2 routes PIT"
    IOAPIC_W 0x14, 0x10060
    mov al, 0x30                ; stop PIT ch0 (mode 0, no count)
    out 0x43, al

    CMOS_R 0x8c                 ; clear pending flags
    IOAPIC_W 0x21, 0            ; GSI 8 -> APIC 0
    IOAPIC_W 0x20, 0x68
    CMOS_R 0x8a
    and al, 0xf0
    or al, 6                    ; 1024 Hz
    mov bl, al
    CMOS_W 0x8a, bl
    CMOS_R 0x8b
    or al, 0x40                 ; PIE
    mov bl, al
    CMOS_W 0x8b, bl
    WAIT_CNT 8, 3
    EXPECT e, "IOAPIC GSI 8 routes RTC periodic interrupt"
    mov al, [rtc_c]
    and eax, 0x40
    CHECK "RTC register C reports PF", 0x40
    CMOS_R 0x8b
    and al, 0xbf
    mov bl, al
    CMOS_W 0x8b, bl
    CMOS_R 0x8c
    IOAPIC_W 0x20, 0x10068

    ; ------------------------------------------------------ CMOS time
    mov ecx, 1000000
.uip:
    CMOS_R 0x8a
    test al, 0x80
    jz .uipok
    dec ecx
    jnz .uip
.uipok:
    CMOS_R 0x80
    mov [cmos_val + 0], al
    CMOS_R 0x82
    mov [cmos_val + 1], al
    CMOS_R 0x84
    mov [cmos_val + 2], al
    CMOS_R 0x87
    mov [cmos_val + 3], al
    CMOS_R 0x88
    mov [cmos_val + 4], al
    CMOS_R 0x89
    mov [cmos_val + 5], al
    CMOS_R 0x8b
    mov [cmos_val + 6], al
    mov al, 0x0d                ; re-enable NMI, index 0x0d
    out 0x70, al
    test byte [cmos_val + 6], 4 ; DM: 0 = BCD
    jnz .rtcbin
    mov rsi, cmos_val
    mov ecx, 6
.bcd:
    lodsb
    and al, 0x7f                ; 12h-mode PM flag on hours
    mov ah, al
    and ah, 0x0f
    cmp ah, 9
    ja .rtcbad
    shr al, 4
    cmp al, 9
    ja .rtcbad
    loop .bcd
    cmp byte [cmos_val + 0], 0x59
    ja .rtcbad
    cmp byte [cmos_val + 1], 0x59
    ja .rtcbad
    mov al, [cmos_val + 2]
    and al, 0x7f
    cmp al, 0x23
    ja .rtcbad
    mov al, [cmos_val + 3]
    cmp al, 1
    jb .rtcbad
    cmp al, 0x31
    ja .rtcbad
    mov al, [cmos_val + 4]
    cmp al, 1
    jb .rtcbad
    cmp al, 0x12
    ja .rtcbad
    PASS "CMOS RTC time registers (BCD, in range)"
    jmp .rtcd
.rtcbin:
    cmp byte [cmos_val + 0], 59
    ja .rtcbad
    cmp byte [cmos_val + 1], 59
    ja .rtcbad
    PASS "CMOS RTC time registers (binary, in range)"
    jmp .rtcd
.rtcbad:
    mov eax, [cmos_val]
    FAIL "CMOS RTC time registers (BCD, in range)", "bad value"
.rtcd:

    ; ------------------------------------------------------ HPET
    mov r11, HPET
    mov rax, [r11]
    mov rbx, rax
    shr rbx, 32                 ; period (fs)
    shr eax, 16
    cmp eax, 0xffff
    je .nohpet
    test eax, eax
    jz .nohpet
    test ebx, ebx
    jz .hpbad
    cmp ebx, 100000000
    ja .hpbad
    PASS "HPET capabilities (period <= 100 ns)"
    mov r11, HPET
    or qword [r11 + 0x10], 1    ; ENABLE_CNF
    mov rbx, [r11 + 0xf0]
    mov ecx, 20000
.hpw:
    pause
    loop .hpw
    mov rax, [r11 + 0xf0]
    and qword [r11 + 0x10], ~1
    cmp rax, rbx
    EXPECT a, "HPET main counter increments"
    jmp .hpd
.hpbad:
    FAIL "HPET capabilities (period <= 100 ns)", "bad period"
    FAIL "HPET main counter increments", "not tested"
    jmp .hpd
.nohpet:
    PASS "HPET capabilities (period <= 100 ns) (skipped: no hpet)"
    PASS "HPET main counter increments (skipped: no hpet)"
.hpd:

    ; ------------------------------------------------------ x2APIC (last)
    mov eax, 1
    cpuid
    bt ecx, 21
    jnc .nox2
    mov ecx, 0x1b
    rdmsr
    or eax, 0xc00               ; EN | EXTD
    wrmsr
    mov ecx, 0x802              ; x2APIC ID (BSP: 0)
    rdmsr
    CHECK "x2APIC ID via MSR 0x802", 0
    mov ecx, 0x808
    mov eax, 0x20
    xor edx, edx
    wrmsr
    rdmsr
    CHECK "x2APIC TPR via MSR 0x808", 0x20
    xor eax, eax
    wrmsr
    mov ecx, 0x83f
    mov eax, 0x52
    xor edx, edx
    wrmsr
    WAIT_CNT 9, 1
    EXPECT e, "x2APIC self IPI via MSR 0x83f"
    jmp .x2d
.nox2:
    PASS "x2APIC ID via MSR 0x802 (skipped: no x2apic)"
    PASS "x2APIC TPR via MSR 0x808 (skipped: no x2apic)"
    PASS "x2APIC self IPI via MSR 0x83f (skipped: no x2apic)"
.x2d:
    jmp done64
