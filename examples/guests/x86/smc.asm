; smc.asm -- self-modifying code (SDM Vol 3A 11.6: a store to code must be seen by the
; following instruction fetch), in 32-bit protected mode (no paging) and in long mode:
;   imm-patch   a routine in another 128-byte line: the immediate of its `mov eax, imm32`
;               is rewritten before each of 100 calls (decoding cached after the 1st call)
;   next-imm    store into the immediate of the very next instruction (same line), 100x
;   next-opcode store into the opcode byte of the next instruction: alternately
;               `add eax, ecx` (01 C8) / `sub eax, ecx` (29 C8), 10x
;   data-in-code  two qwords in the code page (>= 128 bytes from any code, 128-aligned),
;               read/modified/written 1000x by a loop that keeps running correctly
;   rep-movsb   code copied by `rep movsb` into a fresh page, called, overwritten with
;               different code, called again, 4 rounds
%include "lib/base.inc"
%include "lib/idt32.inc"
%include "lib/idt64.inc"
%include "lib/longmode.inc"

section .bss
alignb 4096
freshpage:  resb 4096

%macro SMC_TESTS 1
    ; ---- imm-patch: routine in another line
    mov ecx, 77
    mov [%%fa + 1], ecx
    call %%fa                           ; warm up (decode + cache)
    cmp eax, 77
    jne %%afail
    xor ebx, ebx
    xor ecx, ecx
%%al:
    mov [%%fa + 1], ecx
    call %%fa
    add ebx, eax
    inc ecx
    cmp ecx, 100
    jb %%al
    mov eax, ebx
%%afail:
    CHECK {%1, " imm-patch"}, 4950
    jmp %%a_end
    align 128
%%fa:
    mov eax, strict dword 0
    ret
    align 128
%%a_end:

    ; ---- next-imm: patch the immediate of the next instruction
    xor ebx, ebx
    xor ecx, ecx
    align 64
%%bl:
    mov [%%bi + 1], ecx
%%bi:
    mov edx, strict dword 0x5a5a5a5a
    add ebx, edx
    inc ecx
    cmp ecx, 100
    jb %%bl
    mov eax, ebx
    CHECK {%1, " next-imm"}, 4950

    ; ---- next-opcode: add/sub alternately
    xor eax, eax
    xor ecx, ecx
    align 64
%%cl:
    mov dl, 0x01                        ; add eax, ecx
    test cl, 1
    jz %%c1
    mov dl, 0x29                        ; sub eax, ecx
%%c1:
    mov [%%ci], dl
%%ci:
    db 0x01, 0xc8                       ; add/sub eax, ecx
    inc ecx
    cmp ecx, 10
    jb %%cl
    CHECK {%1, " next-opcode"}, 0xfffffffb    ; -5 (32-bit)

    ; ---- data-in-code: qwords in this code page, other lines
    mov dword [%%d0], 0
    mov dword [%%d1], 0
    xor ecx, ecx
%%dl:
    mov eax, [%%d0]
    add eax, ecx
    mov [%%d0], eax
    mov edx, [%%d1]
    xor edx, ecx
    mov [%%d1], edx
    inc ecx
    cmp ecx, 1000
    jb %%dl
    mov eax, [%%d0]
    cmp dword [%%d1], 0                 ; xor of 0..999 = 0
    je %%dok
    mov eax, -1
%%dok:
    CHECK {%1, " data-in-code"}, 499500
    jmp %%d_end
    align 128
    times 128 db 0xcc
%%d0: dd 0, 0
    align 128
    times 128 db 0xcc
%%d1: dd 0, 0
    align 128
    times 128 db 0xcc
%%d_end:

    ; ---- rep-movsb: code into a fresh page, then different code
    xor ebx, ebx
    mov ebp, 4
%%el:
    mov esi, %%tA
    mov edi, freshpage
    mov ecx, %%tA_end - %%tA
    rep movsb
    mov ecx, ebp
    call freshpage                      ; eax = 0x11111111
    add ebx, eax
    mov esi, %%tB
    mov edi, freshpage
    mov ecx, %%tB_end - %%tB
    rep movsb
    mov ecx, ebp
    call freshpage                      ; eax = 0x22222222 + ecx
    add ebx, eax
    dec ebp
    jnz %%el
    mov eax, ebx                        ; 4*0x11111111 + 4*0x22222222 + 10
    CHECK {%1, " rep-movsb"}, 4*0x11111111 + 4*0x22222222 + 10
    jmp %%e_end
%%tA:
    mov eax, 0x11111111
    ret
%%tA_end:
%%tB:
    mov eax, 0x22222222
    add eax, ecx
    ret
%%tB_end:
%%e_end:
%endmacro

section .text
bits 32
main32:
    call idt32_init
    SMC_TESTS "smc pm32"
    jmp enter_long

bits 64
main64:
    SMC_TESTS "smc long64"
    jmp done64
