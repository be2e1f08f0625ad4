; wl_ptrchase.asm -- workload: pointer chase through a pseudo-random cyclic permutation.
;
; M = 16384 nodes of 64 bytes (1 MiB, page aligned): node[i] = { qword next (address of
; node[perm[i]]), qword payload = i * 0x9E3779B97F4A7C15 mod 2^64, 48 bytes pad }.
; perm is one single cycle of length M, built at start-up (outside the measured section)
; with Sattolo's algorithm driven by an LCG:
;     perm[i] = i;  x = 1
;     for i = M-1 down to 1: x = x*6364136223846793005 + 1442695040888963407 (mod 2^64)
;                            j = (x >> 33) mod i;  swap(perm[i], perm[j])
; Measured: start at node[0]; N steps of   p = p->next; acc += p->payload.
; sum = acc (mod 2^64)  (model: benches/compare `ptrchase`).
;
; Command line: iters=N steps (default 2000000).  Long mode, identity map.
; Measured section (MARK_BEGIN .. MARK_END):
;     instructions = 6 + 4*N
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"

NODES equ 16384

section .bss
alignb 8
iters:      resq 1
alignb 4096
perm:       resd NODES
alignb 4096
nodes:      resb NODES * 64

section .text
bits 32
main32:
    ARG32 "iters=", iters, 2000000
    jmp enter_long

bits 64
main64:
    xor ecx, ecx                        ; perm[i] = i
.p0:mov [perm + rcx*4], ecx
    inc ecx
    cmp ecx, NODES
    jb .p0
    mov r8, 1                           ; Sattolo shuffle
    mov r9, 6364136223846793005
    mov r10, 1442695040888963407
    mov ecx, NODES - 1
.sh:imul r8, r9
    add r8, r10
    mov rax, r8
    shr rax, 33
    xor edx, edx
    div rcx                             ; rdx = j
    mov eax, [perm + rcx*4]
    mov ebx, [perm + rdx*4]
    mov [perm + rcx*4], ebx
    mov [perm + rdx*4], eax
    dec ecx
    jnz .sh
    mov r9, 0x9E3779B97F4A7C15          ; link the nodes
    xor ecx, ecx
.ln:mov eax, [perm + rcx*4]
    shl rax, 6
    add rax, nodes
    mov rdx, rcx
    shl rdx, 6
    mov [nodes + rdx], rax
    mov rax, rcx
    imul rax, r9
    mov [nodes + rdx + 8], rax
    inc ecx
    cmp ecx, NODES
    jb .ln

    MARK_BEGIN
    mov rcx, [iters]
    mov rax, nodes
    xor edx, edx
    test rcx, rcx
    jz .done                            ; 5
.chase:
    mov rax, [rax]
    add rdx, [rax + 8]
    dec rcx
    jnz .chase                          ; 4 per step
.done:
    mov rax, rdx                        ; 1
    MARK_END
    call print_sum64
    PASS "wl_ptrchase"
    jmp done64
