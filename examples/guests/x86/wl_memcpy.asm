; wl_memcpy.asm -- workload: memset + memcpy over a 64 KiB destination buffer.
;
; src = 64 KiB of LCG qwords (x = x*6364136223846793005 + 1442695040888963407, x0 = 1,
; src[i] = x after i+1 steps), built at start-up outside the measured section.
; Round r (r = N, N-1, ..., 1), f(r) = r * 0x9E3779B97F4A7C15 (mod 2^64):
;   1. rep stosq : dst[0 .. 64K)     = f(r)           (8192 qwords)
;   2. rep movsq : dst[0 .. 32K)     = src[0 .. 32K)   (4096 qwords)
;   3. qword loop: dst[32K .. 48K)   = src[32K .. 48K) (2048 x 8 bytes, 6 insns each)
;   4. byte loop : dst[48K .. 52K)   = src[48K .. 52K) (4096 x 1 byte, 6 insns each)
;   5. acc += dst qword[(r*1031) & 8191]
; After the measured section: h = acc; for each dst qword q: h = rol(h, 5) ^ q;
; sum = h  (model: benches/compare `memcpy`).
;
; Command line: iters=N rounds (default 200).  Long mode, identity map.
; Measured section (MARK_BEGIN .. MARK_END), counting every iteration of a REP
; string instruction as one instruction (QEMU's convention, e.g. gdbstub stepi):
;     instructions = 5 + N * (36878 + 8192 + 4096) = 5 + 49166*N
;   per round: memset 4 + 8192, movsq 3 + 4096, qword loop 1 + 6*2048,
;   byte loop 1 + 6*4096, sample + loop control 5.
; (counting each REP instruction once, as hardware INST_RETIRED does: 5 + 36880*N;
;  chimera's --trace prints one line per REP chunk, e.g. 2 for the 8192-qword stosq)
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"

section .bss
alignb 8
iters:      resq 1
alignb 4096
src:        resb 65536
dst:        resb 65536

section .text
bits 32
main32:
    ARG32 "iters=", iters, 200
    jmp enter_long

bits 64
main64:
    ; src = LCG qwords
    mov rax, 1
    mov rbx, 6364136223846793005
    mov rdx, 1442695040888963407
    mov rdi, src
    mov ecx, 8192
.init:
    imul rax, rbx
    add rax, rdx
    mov [rdi], rax
    add rdi, 8
    dec ecx
    jnz .init
    cld

    MARK_BEGIN
    mov r9, [iters]
    mov r11, 0x9E3779B97F4A7C15
    xor r10d, r10d
    test r9, r9
    jz .done                            ; 5 so far
.round:
    mov rax, r9                         ; 1. memset (4 + 8192)
    imul rax, r11
    mov rdi, dst
    mov ecx, 8192
    rep stosq
    mov rsi, src                        ; 2. rep movsq (3 + 4096)
    mov rdi, dst
    mov ecx, 4096
    rep movsq
    mov ecx, 2048                       ; 3. qword loop (1 + 6*2048); rsi/rdi continue at +32K
.q: mov rdx, [rsi]
    mov [rdi], rdx
    add rsi, 8
    add rdi, 8
    dec ecx
    jnz .q
    mov ecx, 4096                       ; 4. byte loop (1 + 6*4096)
.b: mov dl, [rsi]
    mov [rdi], dl
    inc rsi
    inc rdi
    dec ecx
    jnz .b
    imul eax, r9d, 1031                 ; 5. sample (4) + loop (2)
    and eax, 8191
    add r10, [dst + rax*8]
    dec r9
    jnz .round
.done:
    MARK_END
    mov rax, r10
    mov rsi, dst
    mov ecx, 8192
.h: rol rax, 5
    xor rax, [rsi]
    add rsi, 8
    dec ecx
    jnz .h
    call print_sum64
    PASS "wl_memcpy"
    jmp done64
