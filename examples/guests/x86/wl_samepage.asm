; wl_samepage.asm -- workload: the reference 10-instruction loop (lib/loop10.inc) with its
; scratch qword in the SAME 4 KiB page as the loop code (the self-modifying-code worst
; case of shared/bench "guest-samepage": every store hits a page that holds code).
;
; Layout: the loop lives in a page-aligned block `bench_page` (.text) of exactly 4096
; bytes: the loop code starts at offset 0 (< 0x80 bytes), the scratch qword is at offset
; 0x800 (2048-byte aligned, i.e. more than 1900 bytes = 15 128-byte lines away from
; the last code byte), the rest of the page is padding, so nothing else lives there.
; The stores never modify code: a correct emulator must keep executing the cached
; translation (or at least get the right answer).
;
; Command line: iters=N (default 1000000).  Long mode, identity map (2 MiB pages).
; Measured section (between MARK_BEGIN and MARK_END):
;     instructions = 8 + 10*N
; Output: sum=0x<16 hex> (same model as wl_loop), PASS: wl_samepage, DONE.
%include "lib/base.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"
%include "lib/bench.inc"
%include "lib/loop10.inc"

section .bss
alignb 8
iters:      resq 1

section .text
bits 32
main32:
    ARG32 "iters=", iters, 1000000
    jmp enter_long

bits 64
main64:
    mov rdi, scratch_sp
    call bench_page
    call print_sum64
    PASS "wl_samepage"
    jmp done64

align 4096
bench_page:
    MARK_BEGIN
    LOOP10 [iters]                      ; 8 + 10*N
    MARK_END
    ret
bench_code_end:
%if bench_code_end - bench_page > 0x80
  %error loop code does not fit in the first 128-byte line
%endif
    times 0x800 - ($ - bench_page) db 0xcc
scratch_sp: dq 0                        ; offset 0x800 of the code page
    times 4096 - ($ - bench_page) db 0xcc
