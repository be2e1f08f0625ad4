; wl_loop.asm -- workload: the reference 10-instruction integer loop (lib/loop10.inc,
; same as compute.asm and shared/bench) with its scratch qword alone in its own 4 KiB
; page (.bss, page aligned), so stores never touch a page holding code.
;
; Command line: iters=N (default 1000000).  Long mode, identity map (2 MiB pages).
; Measured section (between MARK_BEGIN and MARK_END):
;     instructions = 8 + 10*N
; Output: sum=0x<16 hex> (model: benches/compare `loop`), PASS: wl_loop, DONE.
; iters=0 is the "boot" workload (boot + exit only).
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"
%include "lib/loop10.inc"

section .bss
alignb 8
iters:      resq 1
alignb 4096
scratch:    resb 4096                   ; the scratch qword, alone in its page

section .text
bits 32
main32:
    ARG32 "iters=", iters, 1000000
    jmp enter_long

bits 64
main64:
    mov rdi, scratch
    MARK_BEGIN
    LOOP10 [iters]                      ; 8 + 10*N
    MARK_END
    call print_sum64
    PASS "wl_loop"
    jmp done64
