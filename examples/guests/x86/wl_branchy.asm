; wl_branchy.asm -- workload: branchy integer kernel, Collatz step counting.
;
; Each round walks n = 1 .. K (K = 1000): steps(n) = number of Collatz steps
; (n even: n/2, n odd: 3n+1) until n == 1, with a data-dependent branch per step;
; after each n: h = (h ^ steps(n)) * 0x100000001B3 (mod 2^64), h0 = 0xcbf29ce484222325.
; sum = h after N rounds  (model: benches/compare `branchy`).
; Both step kinds are 7 instructions (cmp/je/test/jnz + shr|lea + inc + jmp).
;
; Command line: iters=N rounds (default 50).  Long mode, identity map.
; Measured section (MARK_BEGIN .. MARK_END), S = sum of steps(n) for n = 1..K = 59542:
;     instructions = 5 + N * (3 + 9*K + 7*S) = 5 + 425797*N
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"

K equ 1000

section .bss
alignb 8
iters:      resq 1

section .text
bits 32
main32:
    ARG32 "iters=", iters, 50
    jmp enter_long

bits 64
main64:
    MARK_BEGIN
    mov r9, [iters]
    mov rdx, 0xcbf29ce484222325
    mov r10, 0x100000001B3
    test r9, r9
    jz .done                            ; 5
.round:
    mov ebx, 1                          ; round: 3 + 9*K + 7*S
.n: mov rax, rbx                        ; per n: 9 + 7*steps(n)
    xor ecx, ecx
.s: cmp rax, 1
    je .e
    test al, 1
    jnz .odd
    shr rax, 1
    inc ecx
    jmp .s
.odd:
    lea rax, [rax + rax*2 + 1]
    inc ecx
    jmp .s
.e: xor rdx, rcx
    imul rdx, r10
    inc ebx
    cmp ebx, K
    jbe .n
    dec r9
    jnz .round
.done:
    MARK_END
    mov rax, rdx
    call print_sum64
    PASS "wl_branchy"
    jmp done64
