; modes.asm -- processor mode transitions:
;   32-bit PM -> 16-bit PM -> real mode (16-bit arithmetic, segment addressing)
;   -> 32-bit PM -> long mode (PAE, 4-level paging, EFER.LMA) -> compatibility
;   mode (far call / retf) -> 64-bit operand-size checks.
%include "lib/base.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

RM_BLOB     equ 0x7000          ; real-mode code is copied here
RM_RES      equ 0x6000          ; real-mode results (linear)
RM_STACK    equ 0x6ff0

section .bss
saved_esp:  resd 1
compat_res: resd 8
section .text

bits 32
main32:
    ; --- 32-bit protected mode entry state
    mov eax, cr0
    and eax, 0x80000001
    cmp eax, 1
    jne .pmbad
    cmp dword [mb_magic], 0x2BADB002
    jne .pmbad
    PASS "protected mode entry"
    jmp .pmok
.pmbad:
    FAIL "protected mode entry", "bad CR0/magic"
.pmok:
    ; --- copy the 16-bit blob below 1 MiB and patch in the GDTR image
    mov esi, rm_blob
    mov edi, RM_BLOB
    mov ecx, rm_blob_end - rm_blob
    rep movsb
    mov ax, [gdt_desc]
    mov [RM_BLOB + (rm_gdtr - rm_blob)], ax
    mov eax, [gdt_desc + 2]
    mov [RM_BLOB + (rm_gdtr - rm_blob) + 2], eax
    mov edi, RM_RES
    mov ecx, 64
    xor eax, eax
    rep stosd
    mov [saved_esp], esp
    jmp CODE16:(RM_BLOB + (pm16_entry - rm_blob))

back32:
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [saved_esp]
    ; results
    mov eax, [RM_RES + 0x00]        ; CR0 low word in real mode
    and eax, 1
    CHECK "real mode entry (CR0.PE=0)", 0
    movzx eax, word [RM_RES + 0x04] ; 0xffff + 2
    CHECK "real mode 16-bit add wraps", 1
    movzx eax, word [RM_RES + 0x06] ; CF after the add
    CHECK "real mode 16-bit carry", 1
    mov eax, [RM_RES + 0x08]        ; DX:AX of 0x1234*0x0100
    CHECK "real mode 16-bit mul dx:ax", 0x00123400
    mov eax, [RM_RES + 0x0c]        ; 32-bit operand via 0x66 prefix
    CHECK "real mode 32-bit operand prefix", 0x89abcdef
    movzx eax, word [0x6510]        ; written via ES:DI = 0x0650:0x0010
    CHECK "real mode ES:DI store at linear", 0xbeef
    movzx eax, word [RM_RES + 0x10] ; read back through 0x0651:0x0000
    CHECK "real mode segment alias read", 0xbeef
    movzx eax, word [RM_RES + 0x12] ; CS in real mode
    CHECK "real mode CS", RM_BLOB >> 4
    mov eax, cr0
    and eax, 1
    CHECK "back to protected mode", 1
    jmp enter_long

; ---------------------------------------------------------------- 16-bit blob
bits 16
rm_blob:
pm16_entry:                         ; 16-bit protected mode, CS=CODE16 base 0
    mov ax, DATA16
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, RM_STACK
    mov eax, cr0
    and eax, 0x7ffffffe
    mov cr0, eax
    jmp (RM_BLOB >> 4):(rm_entry - rm_blob)
rm_entry:                           ; real mode, CS = 0x0700
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, RM_STACK
    smsw ax
    mov [RM_RES + 0x00], ax
    mov ax, 0xffff
    add ax, 2
    mov [RM_RES + 0x04], ax
    setc bl
    movzx bx, bl
    mov [RM_RES + 0x06], bx
    mov ax, 0x1234
    mov cx, 0x0100
    mul cx
    mov [RM_RES + 0x08], ax
    mov [RM_RES + 0x0a], dx
    mov eax, 0x89abcdef
    mov [RM_RES + 0x0c], eax
    mov ax, 0x0650
    mov es, ax
    mov di, 0x0010
    mov ax, 0xbeef
    stosw                           ; ES:DI -> linear 0x6510
    mov ax, 0x0651
    mov fs, ax
    mov ax, [fs:0x0000]
    mov [RM_RES + 0x10], ax
    mov ax, cs
    mov [RM_RES + 0x12], ax
    ; back to 32-bit protected mode
    o32 lgdt [cs:rm_gdtr - rm_blob]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword KCODE32:back32
rm_gdtr:
    dw 0
    dd 0
rm_blob_end:

; ---------------------------------------------------------------- long mode
bits 64
main64:
    mov ecx, 0xC0000080
    rdmsr
    test eax, 0x400                 ; EFER.LMA
    jz .lmbad
    mov rax, cr4
    test eax, 0x20
    jz .lmbad
    mov rax, cr0
    bt rax, 31
    jnc .lmbad
    mov ax, cs
    cmp ax, KCODE64
    jne .lmbad
    PASS "long mode (EFER.LMA, PAE, PG)"
    jmp .lmok
.lmbad:
    FAIL "long mode (EFER.LMA, PAE, PG)", "state"
.lmok:
    ; 4-level walk through a second, non-identity mapping: map PML4[1]
    ; (0x8000000000) to the same PDPT and read the kernel through it
    mov rax, [pml4]
    mov [pml4 + 8], rax
    mov rax, 0x8000000000 + main64
    mov eax, [rax]
    mov edx, [main64]
    cmp eax, edx
    EXPECT e, "4-level paging alias"

    ; --- compatibility mode: far call to a 32-bit code segment
    call far dword [compat_ptr]
    mov eax, [compat_res]
    CHECK "compat mode CS", KCODE32
    mov eax, [compat_res + 4]
    CHECK "compat mode 32-bit add", 1
    mov eax, [compat_res + 8]
    CHECK "compat mode 0x40 is inc eax", 0x80000000
    mov eax, [compat_res + 12]
    CHECK "compat mode push/pop width", 4
    mov ax, cs
    movzx eax, ax
    CHECK "return to 64-bit mode", KCODE64

    ; --- 64-bit operand-size rules
    mov rax, -1
    mov eax, 0x12345678
    CHECK "32-bit op zero-extends", 0x12345678
    mov rax, -1
    mov ax, 0x1234
    CHECK "16-bit op preserves upper", 0xffffffffffff1234
    mov rax, -1
    mov al, 0x12
    CHECK "8-bit op preserves upper", 0xffffffffffffff12
    mov rax, 0xffffffff
    inc eax
    CHECK "inc r32 wraps and zero-extends", 0
    mov rax, 0x80000000
    movsxd rax, eax
    CHECK "movsxd sign-extends", 0xffffffff80000000
    mov eax, 0x87654321
    cdqe
    CHECK "cdqe", 0xffffffff87654321
    mov rax, 0x100000000
    mov rcx, 0x100000000
    mul rcx
    mov rax, rdx
    CHECK "64-bit mul high half", 1
    mov rax, rsp
    push rax
    mov rcx, rsp
    pop rax
    sub rax, rcx
    CHECK "64-bit push width", 8
    mov rax, 0x123456789
    mov ecx, 0x23456789
    add rax, rcx
    CHECK "64-bit add", 0x1468acf12
    mov r8, -1
    mov r8d, 5
    mov rax, r8
    CHECK "r8d write zero-extends", 5
    mov rax, -1
    mov ah, 0
    CHECK "ah write keeps other bytes", 0xffffffffffff00ff
    jmp done64

align 8
compat_ptr:
    dd compat_fn
    dw KCODE32

bits 32
compat_fn:                          ; compatibility mode (CS.L=0, CS.D=1)
    push eax
    mov ax, cs
    movzx eax, ax
    mov [compat_res], eax
    mov eax, 0xffffffff
    add eax, 2
    mov [compat_res + 4], eax
    mov eax, 0x7fffffff
    db 0x40                         ; inc eax (a REX prefix in 64-bit mode)
    mov [compat_res + 8], eax
    mov ecx, esp
    push eax
    sub ecx, esp
    pop eax
    mov [compat_res + 12], ecx
    pop eax
    retf
