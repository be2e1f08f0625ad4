; compute.asm -- compute-heavy workload for MIPS measurements (criterion bench, --stats).
;
; The Multiboot command line may hold `iters=<decimal>` (default 1000000). In 64-bit mode the
; guest runs a 10-instruction integer loop with one store and one load per iteration (the
; same mix as the team's reference benchmark in shared/bench) exactly `iters` times, prints
; `sum=<hex>` (checked by the host against a model of the loop) and `PASS: compute`, and exits
; through isa-debug-exit. Instructions in the measured part: 8 + 10 * iters.
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"

section .bss
iters:      resq 1
scratch:    resq 1

section .text
bits 32
main32:
    mov dword [iters], 1000000
    mov dword [iters + 4], 0
    mov ebx, [mb_info]
    test dword [ebx], 1 << 2            ; cmdline present?
    jz .go
    mov esi, [ebx + 16]
.find:                                  ; look for "iters="
    mov al, [esi]
    test al, al
    jz .go
    cmp dword [esi], 'iter'
    jne .next
    cmp word [esi + 4], 's='
    je .num
.next:
    inc esi
    jmp .find
.num:
    add esi, 6
    xor eax, eax                        ; 64-bit accumulate in edx:eax
    xor edx, edx
.digit:
    movzx ecx, byte [esi]
    sub ecx, '0'
    cmp ecx, 9
    ja .store
    ; edx:eax = edx:eax * 10 + ecx
    push ecx
    mov edi, edx
    mov ecx, 10
    mul ecx                             ; edx:eax = eax * 10
    imul edi, edi, 10
    add edx, edi
    pop ecx
    add eax, ecx
    adc edx, 0
    inc esi
    jmp .digit
.store:
    mov [iters], eax
    mov [iters + 4], edx
.go:
    jmp enter_long

bits 64
main64:
    mov rdi, scratch
    mov rcx, [iters]
    ; ---- measured part: 8 + 10 * iters instructions ----
    mov rax, 0x0123456789abcdef
    mov rbx, 0xfedcba9876543210
    xor edx, edx
    test rcx, rcx
    jz .done
.loop:
    add rax, rbx
    xor rbx, rax
    rol rax, 13
    mov [rdi], rax
    mov r8, [rdi]
    shr r8, 3
    add rdx, r8
    xor rbx, rcx
    dec rcx
    jnz .loop
.done:
    xor rax, rbx
    xor rax, rdx
    ; ---- end of measured part ----
    push rax
    PRINT "sum="
    pop rax
    push rax
    call puthex64
    call nl64
    pop rax
    PASS "compute"
    jmp done64
