; wl_crc.asm -- workload: CRC-32 (reflected polynomial 0xEDB88320, bytewise, 256-entry
; table) over a 16 KiB buffer, N rounds chained: crc = crc32(buf, crc) each round, i.e.
; the CRC-32 (zlib/PNG convention: init ~0, final ~) of the buffer repeated N times.
; buf[i] = byte 3 (bits 24..31) of x after i+1 LCG steps, x = x*1103515245 + 12345 mod 2^32,
; x0 = 1; table and buffer are built at start-up, outside the measured section.
; sum = crc (zero-extended to 64 bits)  (model: benches/compare `crc`, zlib.crc32).
;
; Command line: iters=N rounds (default 100).  Long mode, identity map.
; Measured section (MARK_BEGIN .. MARK_END):
;     instructions = 5 + N * (6 + 7*16384) = 5 + 114694*N
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"

LEN equ 16384

section .bss
alignb 8
iters:      resq 1
alignb 4096
crctab:     resd 256
alignb 4096
buf:        resb LEN

section .text
bits 32
main32:
    ARG32 "iters=", iters, 100
    jmp enter_long

bits 64
main64:
    xor ecx, ecx                        ; table
.t: mov eax, ecx
    mov ebx, 8
.tb:shr eax, 1
    jnc .tn
    xor eax, 0xEDB88320
.tn:dec ebx
    jnz .tb
    mov [crctab + rcx*4], eax
    inc ecx
    cmp ecx, 256
    jb .t
    mov eax, 1                          ; buffer
    xor ecx, ecx
.b: imul eax, eax, 1103515245
    add eax, 12345
    mov ebx, eax
    shr ebx, 24
    mov [buf + rcx], bl
    inc ecx
    cmp ecx, LEN
    jb .b

    MARK_BEGIN
    mov r9, [iters]
    xor eax, eax                        ; crc = 0
    test r9, r9
    jz .done                            ; 4
.round:
    not eax                             ; 5 per round
    mov rsi, buf
    mov ecx, LEN
.byte:
    movzx edx, byte [rsi]               ; 7 per byte
    xor dl, al
    shr eax, 8
    xor eax, [crctab + rdx*4]
    inc rsi
    dec ecx
    jnz .byte
    not eax
    dec r9
    jnz .round
.done:
    mov eax, eax                        ; 1: zero-extend
    MARK_END
    call print_sum64
    PASS "wl_crc"
    jmp done64
