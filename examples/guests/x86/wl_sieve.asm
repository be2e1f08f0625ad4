; wl_sieve.asm -- workload: sieve of Eratosthenes over L = 1<<20 bytes, N rounds.
;
; Mode from the command line:
;   paging=0  32-bit protected mode, paging off (flat), buffer at its physical address
;   paging=1  long mode; the buffer is mapped with 4 KiB pages (256 PTEs, a page table
;             hung into the PD of the 1..2 GiB region) at virtual 0x40000000, so every
;             sieve access goes through a 4 KiB TLB entry.  (default)
; The sieve kernel is the same instruction sequence in both modes (32-bit arithmetic,
; base/index registers esi/ecx resp. rsi/rcx).
; Round: flag[0..L) = 0 (dword store loop); for p = 2 while p*p < L: if flag[p] == 0:
; flag[m] = 1 for m = p*p, p*p+p, ... < L; then count/hash pass over i = 2 .. L-1:
; if flag[i] == 0: count++, hash = hash*31 + i (mod 2^32).
; sum = count << 32 | hash of the last round (82025 primes below 2^20)
; (model: benches/compare `sieve`).
;
; Command line: iters=N rounds (default 2), paging=0|1 (default 1).
; Measured section (MARK_BEGIN .. MARK_END), identical in both modes:
;     instructions = 6 + N * C
;     C = 2 + L            (clear: 4 per dword)
;       + 1 + sum over p = 2 .. 1023 of (8 + [p prime] * (1 + 4 * ceil((L - p*p) / p)))
;       + 4                (p = 1024 ends the loop)
;       + 3 + sum over i = 2 .. L-1 of (5 + 3 * [i prime])
;       + 2                (round loop)
;       = 15461405 for L = 1<<20 (82025 primes below L, 172 primes below 1024)
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"

L       equ 1 << 20
VBASE   equ 0x40000000

section .bss
alignb 8
iters:      resq 1
paging:     resq 1
rounds:     resd 1
alignb 4096
pt_sieve:   resb 4096
sieve:      resb L

; SIEVE_ROUNDS base -- with SB/SI (base and index registers) defined.
; Out: edx = prime count, ebp = hash.
%macro SIEVE_ROUNDS 1
    MARK_BEGIN
    mov eax, [iters]
    mov [rounds], eax
    xor edx, edx
    xor ebp, ebp
    test eax, eax
    jz %%done                           ; 6
%%round:
    xor eax, eax                        ; clear: 2 + 4*(L/4)
    xor ecx, ecx
%%z:mov [SB + SI], eax
    add ecx, 4
    cmp ecx, L
    jb %%z
    mov ebx, 2                          ; 1
%%p:mov eax, ebx                        ; per p: 8 (+ 1 + 4*multiples if prime)
    imul eax, ebx
    cmp eax, L
    jae %%count
    cmp byte [SB + BI], 0
    jne %%np
    mov ecx, eax
%%m:mov byte [SB + SI], 1
    add ecx, ebx
    cmp ecx, L
    jb %%m
%%np:
    inc ebx
    jmp %%p
%%count:
    xor edx, edx                        ; 3
    xor ebp, ebp
    mov ecx, 2
%%c:cmp byte [SB + SI], 0               ; per i: 5 (+ 3 if prime)
    jne %%cn
    inc edx
    imul ebp, ebp, 31
    add ebp, ecx
%%cn:
    inc ecx
    cmp ecx, L
    jb %%c
    dec dword [rounds]                  ; 2
    jnz %%round
%%done:
    MARK_END
%endmacro

section .text
bits 32
main32:
    ARG32 "iters=", iters, 2
    ARG32 "paging=", paging, 1
    cmp dword [paging], 0
    jne enter_long
    PRINT "mode=pm32 paging=0", 10
    mov esi, sieve
%define SB esi
%define SI ecx
%define BI ebx
    SIEVE_ROUNDS sieve
    mov eax, ebp
    call print_sum32
    PASS "wl_sieve"
    jmp done32

bits 64
main64:
    PRINT "mode=long64 paging=1 (4 KiB pages)", 10
    mov rdi, pt_sieve                   ; 256 PTEs -> sieve buffer
    mov rax, sieve + 3
    mov ecx, L / 4096
.pt:mov [rdi], rax
    add rax, 4096
    add rdi, 8
    dec ecx
    jnz .pt
    mov qword [pd0 + 4096], pt_sieve + 3 ; PD of 1..2 GiB, entry 0: 4 KiB page table
    mov rax, cr3
    mov cr3, rax
    mov rsi, VBASE
%undef SB
%undef SI
%undef BI
%define SB rsi
%define SI rcx
%define BI rbx
    SIEVE_ROUNDS VBASE
    mov eax, ebp
    shl rdx, 32
    or rax, rdx
    call print_sum64
    PASS "wl_sieve"
    jmp done64
