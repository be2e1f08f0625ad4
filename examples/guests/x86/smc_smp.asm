; smc_smp.asm -- cross-modifying code (run with -smp 2): the AP (started with
; INIT-SIPI-SIPI through a real-mode trampoline at 0x8000, real -> protected -> long
; mode) patches code that the BSP then executes, after a handshake through memory
; (SDM Vol 3A 9.1.3 cross-modifying protocol: the modifier writes the code, then a flag;
; the executor waits for the flag, executes a serializing CPUID, then runs the code).
;   xmc-imm     50 rounds: AP stores k*0x1001 into the imm32 of `xfn: mov eax, imm32; ret`
;               (its own 128-byte line); BSP calls xfn (decoded and cached in every round)
;   xmc-rewrite 20 rounds: AP rewrites the whole routine `xfn2` with `rep movsb` from
;               one of two templates of different lengths; BSP calls it
; Only the first AP takes part; any further APs park.
%include "lib/base.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

APIC        equ 0xFEE00000
TRAMP       equ 0x8000
WAIT_ITERS  equ 200000000

section .bss
alignb 4096
ap_stack:   resb 4096
ap_next:    resd 1
ap_up:      resd 1
req:        resd 1
ack:        resd 1

section .text
bits 32
main32:
    jmp enter_long

bits 64
; wait until dword [rdi] == esi (ZF=1) or timeout (ZF=0)
wait_eq:
    push rcx
    mov ecx, WAIT_ITERS
.l: cmp [rdi], esi
    je .d
    pause
    dec ecx
    jnz .l
    cmp [rdi], esi
.d: pop rcx
    ret

icr_idle:
    push rcx
    mov ecx, 1000000
.l: test dword [r11 + 0x300], 0x1000
    jz .d
    pause
    dec ecx
    jnz .l
.d: pop rcx
    ret

main64:
    mov r11, APIC
    mov dword [r11 + 0xf0], 0x1ff
    mov rsi, tramp
    mov rdi, TRAMP
    mov ecx, tramp_end - tramp
    rep movsb
    mov ax, [gdt_desc]
    mov [TRAMP + (tgdtr - tramp)], ax
    mov eax, [gdt_desc + 2]
    mov [TRAMP + (tgdtr - tramp) + 2], eax
    mov dword [r11 + 0x310], 0
    mov dword [r11 + 0x300], 0x000c4500     ; INIT, all excluding self
    call icr_idle
    mov ecx, 100000
.d1:pause
    loop .d1
    mov dword [r11 + 0x300], 0x000c4600 | (TRAMP >> 12)   ; SIPI
    call icr_idle
    mov ecx, 20000
.d2:pause
    loop .d2
    mov dword [r11 + 0x300], 0x000c4600 | (TRAMP >> 12)   ; SIPI again
    call icr_idle
    mov rdi, ap_up
    mov esi, 1
    call wait_eq
    jz .up
    FAIL "smc_smp AP started", "(timeout: run with -smp 2)"
    jmp done64
.up:
    PASS "smc_smp AP started (INIT-SIPI-SIPI, real->long mode)"

    ; ---- xmc-imm
    call xfn                            ; warm up: cached decoding of imm 0
    xor ebx, ebx
    mov r12d, 1
.il:
    mov [req], r12d                     ; ask the AP for patch k
    mov rdi, ack
    mov esi, r12d
    call wait_eq
    jnz .ito
    xor eax, eax
    cpuid                               ; serialize before executing modified code
    call xfn
    imul ecx, r12d, 0x1001
    cmp eax, ecx
    jne .ibad
    inc r12d
    cmp r12d, 50
    jbe .il
    mov eax, r12d
    CHECK "smc_smp xmc-imm (AP patches imm32, BSP executes, 50 rounds)", 51
    jmp .rw
.ito:
    FAIL "smc_smp xmc-imm", "(timeout waiting for the AP)"
    jmp done64
.ibad:
    CHECK "smc_smp xmc-imm round", 0     ; prints the value executed
    jmp done64

    ; ---- xmc-rewrite
.rw:
    mov r12d, 101
    xor ebx, ebx
.rl:
    call xfn2                           ; warm (old version)
    mov [req], r12d
    mov rdi, ack
    mov esi, r12d
    call wait_eq
    jnz .ito
    xor eax, eax
    cpuid
    mov ecx, r12d
    call xfn2                           ; A: 0x0a0a0a0a ; B: ecx * 3
    mov ecx, 0x0a0a0a0a
    imul edx, r12d, 3
    test r12d, 1
    cmovz ecx, edx                      ; odd k: template A, even k: B
    cmp eax, ecx
    jne .rbad
    inc r12d
    cmp r12d, 120
    jbe .rl
    mov eax, r12d
    CHECK "smc_smp xmc-rewrite (AP rewrites a routine with rep movsb, 20 rounds)", 121
    jmp done64
.rbad:
    CHECK "smc_smp xmc-rewrite round", 0
    jmp done64

    align 128
xfn:
    mov eax, strict dword 0
    ret
    align 128
xfn2:
    mov eax, 0x0a0a0a0a
    ret
    times 32 db 0xcc
    align 128
tmplA:
    mov eax, 0x0a0a0a0a
    ret
tmplA_end:
tmplB:
    lea eax, [rcx + rcx*2]
    nop
    nop
    ret
tmplB_end:
    align 128

; ------------------------------------------------------------ AP path
bits 16
tramp:                          ; CS = TRAMP >> 4, IP = 0, real mode
    cli
    o32 lgdt [cs:tgdtr - tramp]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword KCODE32:ap_pm32
align 4
tgdtr:
    dw 0
    dd 0
tramp_end:

bits 32
ap_pm32:
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    or eax, 0x80010001
    mov cr0, eax
    jmp KCODE64:ap_long

bits 64
ap_long:
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, 1
    lock xadd [ap_next], eax
    test eax, eax
    jnz .park                           ; only the first AP works
    mov rsp, ap_stack + 4096
    cld
    mov dword [ap_up], 1
    mov r12d, 1                         ; xmc-imm requests 1..50
.il:cmp [req], r12d
    je .ip
    pause
    jmp .il
.ip:imul eax, r12d, 0x1001
    mov [xfn + 1], eax                  ; patch the code
    mov [ack], r12d                     ; then publish
    inc r12d
    cmp r12d, 50
    jbe .il
    mov r12d, 101                       ; xmc-rewrite requests 101..120
.rl:cmp [req], r12d
    je .rp
    pause
    jmp .rl
.rp:mov rsi, tmplA
    mov ecx, tmplA_end - tmplA
    test r12d, 1
    jnz .rc
    mov rsi, tmplB
    mov ecx, tmplB_end - tmplB
.rc:mov rdi, xfn2
    rep movsb
    mov [ack], r12d
    inc r12d
    cmp r12d, 120
    jbe .rl
.park:
    cli
    hlt
    jmp .park
