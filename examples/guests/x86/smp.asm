; smp.asm -- multiprocessor bring-up (run with -smp 2 or more):
; fw_cfg (signature, CPU count, RAM size vs Multiboot), INIT-SIPI-SIPI with a
; real-mode trampoline at 0x8000, APs go real -> protected -> long mode,
; register with lock xadd and record their APIC IDs, a fixed IPI to an AP
; acknowledged through memory, and a spinlock-protected shared counter.
%include "lib/base.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

APIC        equ 0xFEE00000
TRAMP       equ 0x8000
MAXCPU      equ 16
NITER       equ 20000
WAIT_ITERS  equ 50000000

section .bss
alignb 4096
ap_stacks:  resb 4096*MAXCPU
ncpus:      resd 1
ap_next:    resd 1
ap_count:   resd 1
apic_ids:   resd MAXCPU
start_flag: resd 1
done_count: resd 1
spin:       resd 1
counter:    resd 1
ack_val:    resd 1
ram_size:   resq 1
section .text

bits 32
main32:
    jmp enter_long

bits 64
fw_select:                      ; ax = selector
    mov dx, 0x510
    out dx, ax
    ret
; fw_bytes: ecx = count (<= 8) -> rax, bytes little-endian
fw_bytes:
    push rcx
    push rdx
    push rbx
    xor ebx, ebx                ; shift
    xor edx, edx
    mov r8, rcx
    xor r9, r9                  ; result
.l: push rdx
    mov dx, 0x511
    in al, dx
    pop rdx
    movzx rax, al
    mov ecx, ebx
    shl rax, cl
    or r9, rax
    add ebx, 8
    dec r8
    jnz .l
    mov rax, r9
    pop rbx
    pop rdx
    pop rcx
    ret

h_ipi:                          ; vector 0x60 on an AP
    mov r11, APIC
    mov eax, [r11 + 0x20]
    shr eax, 24
    or eax, 0xac00
    mov [ack_val], eax
    mov dword [r11 + 0xb0], 0
    ret
h_spurious:
    ret

counter_loop:
    mov ecx, NITER
.l: mov eax, 1
    xchg eax, [spin]
    test eax, eax
    jz .got
.s: pause
    cmp dword [spin], 0
    jne .s
    jmp .l
.got:
    mov eax, [counter]
    inc eax
    mov [counter], eax
    mov dword [spin], 0
    dec ecx
    jnz .l
    ret

; wait_eq: rdi = dword, esi = value; ZF=1 if reached (bounded)
wait_eq:
    push rcx
    mov ecx, WAIT_ITERS
.l: cmp [rdi], esi
    je .ok
    pause
    dec ecx
    jnz .l
    or ecx, 1
.ok:pop rcx
    ret

main64:
    HOOK 0x60, h_ipi
    HOOK 0xff, h_spurious
    ; ------------------------------------------------------ fw_cfg
    xor eax, eax
    call fw_select
    mov ecx, 4
    call fw_bytes
    CHECK "fw_cfg signature QEMU", 0x554d4551
    mov ax, 5
    call fw_select
    mov ecx, 2
    call fw_bytes
    mov [ncpus], eax
    cmp eax, 2
    jb .ncbad
    cmp eax, MAXCPU
    ja .ncbad
    PASS "fw_cfg CPU count (2..16)"
    jmp .ncok
.ncbad:
    FAIL "fw_cfg CPU count (2..16)", "run with -smp 2..16"
    jmp done64
.ncok:
    mov ax, 3
    call fw_select
    mov ecx, 8
    call fw_bytes
    mov [ram_size], rax
    shr rax, 10                 ; KiB
    mov ebx, [mb_info]
    test dword [rbx], 1
    jz .rambad
    mov edx, [rbx + 8]          ; mem_upper (KiB above 1 MiB)
    add rdx, 1024
    sub rax, rdx
    jns .rampos
    neg rax
.rampos:
    cmp rax, 4096
    ja .rambad
    PASS "fw_cfg RAM size matches Multiboot mem_upper"
    jmp .ramok
.rambad:
    FAIL "fw_cfg RAM size matches Multiboot mem_upper", "mismatch"
.ramok:

    ; ------------------------------------------------------ BSP APIC
    mov r11, APIC
    mov dword [r11 + 0xf0], 0x1ff
    mov eax, [r11 + 0x20]
    shr eax, 24
    mov [apic_ids], eax

    ; ------------------------------------------------------ trampoline
    mov rsi, tramp
    mov rdi, TRAMP
    mov ecx, tramp_end - tramp
    rep movsb
    mov ax, [gdt_desc]
    mov [TRAMP + (tgdtr - tramp)], ax
    mov eax, [gdt_desc + 2]
    mov [TRAMP + (tgdtr - tramp) + 2], eax

    mov r11, APIC
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

    mov esi, [ncpus]
    dec esi
    mov rdi, ap_count
    call wait_eq
    setz r12b
    mov eax, [ap_count]
    test r12b, r12b
    EXPECT nz, "all APs started (INIT-SIPI-SIPI, real->long mode)"
    test r12b, r12b
    jz done64

    ; distinct APIC IDs
    mov ecx, [ncpus]
    xor esi, esi
.o: lea edi, [esi + 1]
.i: cmp edi, ecx
    jae .on
    mov eax, [apic_ids + rsi*4]
    cmp eax, [apic_ids + rdi*4]
    je .idbad
    inc edi
    jmp .i
.on:inc esi
    cmp esi, ecx
    jb .o
    PASS "distinct APIC IDs"
    jmp .idok
.idbad:
    FAIL "distinct APIC IDs", "duplicate"
.idok:

    ; ------------------------------------------------------ fixed IPI to an AP
    mov ebx, [apic_ids + 4]     ; first AP
    mov r11, APIC
    mov eax, ebx
    shl eax, 24
    mov dword [r11 + 0x310], eax
    mov dword [r11 + 0x300], 0x4060         ; fixed, physical, vector 0x60
    call icr_idle
    mov esi, ebx
    or esi, 0xac00
    mov rdi, ack_val
    call wait_eq
    mov eax, [ack_val]
    EXPECT e, "fixed IPI to AP acknowledged"

    ; ------------------------------------------------------ spinlock counter
    mov dword [start_flag], 1
    call counter_loop
    lock inc dword [done_count]
    mov esi, [ncpus]
    mov rdi, done_count
    call wait_eq
    mov eax, [done_count]
    EXPECT e, "all CPUs finished the counter loop"
    mov eax, NITER
    mul dword [ncpus]
    mov edx, eax
    mov eax, [counter]
    CHECK "spinlock-protected counter = N * cpus", rdx
    jmp done64

icr_idle:
    push rcx
    push rax
    mov ecx, 1000000
.l: mov r11, APIC
    mov eax, [r11 + 0x300]
    test eax, 0x1000
    jz .d
    pause
    dec ecx
    jnz .l
.d: pop rax
    pop rcx
    ret

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
    mov fs, ax
    mov gs, ax
    mov eax, 1
    lock xadd [ap_next], eax    ; eax = AP index
    cmp eax, MAXCPU - 1
    jae .park
    lea ebx, [eax + 1]
    mov eax, ebx
    shl eax, 12
    add rax, ap_stacks + 4096 - 16
    mov rsp, rax
    lidt [idtr64]
    mov r11, APIC
    mov dword [r11 + 0xf0], 0x1ff
    mov dword [r11 + 0x80], 0
    mov eax, [r11 + 0x20]
    shr eax, 24
    mov [apic_ids + rbx*4], eax
    lock inc dword [ap_count]
    sti
.w: cmp dword [start_flag], 1
    je .go
    pause
    jmp .w
.go:
    call counter_loop
    lock inc dword [done_count]
.park:
    cli
    hlt
    jmp .park
