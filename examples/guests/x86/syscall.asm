; syscall.asm -- privilege transitions.
; 32-bit protected mode: call gate ring 3 -> ring 0 (TSS stack switch),
; SYSENTER/SYSEXIT, hardware task switches (CALL to a TSS + IRET via the
; back-link/NT, JMP to a TSS).  64-bit mode: SYSCALL/SYSRET (STAR/LSTAR/FMASK,
; RCX/R11, selectors), INT 0x80 through a DPL3 interrupt gate, and #GP when
; ring 3 uses a DPL0 gate.
%define IDENTITY_USER
%include "lib/base.inc"
%include "lib/idt32.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

SE_CS       equ 0x58            ; SYSENTER_CS: code0, data0, code3, data3
TSS_MAIN    equ 0x78
TSS2        equ 0x80
TSS3        equ 0x88
CG_SEL      equ 0x90            ; call gate -> cg_target
CG_EXIT     equ 0x98            ; call gate -> exit_target

section .bss
alignb 16
tss_main:   resb 128
tss2:       resb 128
tss3:       resb 128
alignb 16
tss0_stack: resb 4096
tss0_top:
se_stack:   resb 4096
se_top:
u_stack:    resb 4096
u_top:
t2_stack:   resb 4096
t2_top:
t3_stack:   resb 4096
t3_top:
sys_stack:  resb 4096
sys_top:
k_esp:      resd 1
res:        resd 64             ; results, see R_* below
rq:         resq 32
section .text

%define R(n) [res + (n)*4]
%define Q(n) [rq + (n)*8]

bits 32
; mk_tss_desc: edi = GDT offset, eax = base
mk_tss_desc:
    mov word [gdt + edi], 103
    mov [gdt + edi + 2], ax
    shr eax, 16
    mov [gdt + edi + 4], al
    mov byte [gdt + edi + 5], 0x89
    mov byte [gdt + edi + 6], 0
    mov [gdt + edi + 7], ah
    ret
; mk_call_gate: edi = GDT offset, eax = target (KCODE32), DPL3, 32-bit
mk_call_gate:
    mov [gdt + edi], ax
    mov word [gdt + edi + 2], KCODE32
    mov word [gdt + edi + 4], 0xec00
    shr eax, 16
    mov [gdt + edi + 6], ax
    ret

main32:
    call idt32_init
    SETDESC SE_CS + 0,  0x00CF9A000000FFFF
    SETDESC SE_CS + 8,  0x00CF92000000FFFF
    SETDESC SE_CS + 16, 0x00CFFA000000FFFF
    SETDESC SE_CS + 24, 0x00CFF2000000FFFF
    mov dword [tss_main + 4], tss0_top
    mov dword [tss_main + 8], KDATA
    mov word [tss_main + 102], 104
    mov edi, TSS_MAIN
    mov eax, tss_main
    call mk_tss_desc
    mov edi, TSS2
    mov eax, tss2
    call mk_tss_desc
    mov edi, TSS3
    mov eax, tss3
    call mk_tss_desc
    mov edi, CG_SEL
    mov eax, cg_target
    call mk_call_gate
    mov edi, CG_EXIT
    mov eax, exit_target
    call mk_call_gate
    mov ax, TSS_MAIN
    ltr ax
    ; SYSENTER MSRs
    mov ecx, 0x174
    mov eax, SE_CS
    xor edx, edx
    wrmsr
    mov ecx, 0x175
    mov eax, se_top
    wrmsr
    mov ecx, 0x176
    mov eax, sysenter_entry
    wrmsr

    ; ------------------------------------------------ ring 3 (32-bit)
    mov [k_esp], esp
    push UDATA | 3
    push u_top
    push 0x2
    push UCODE32 | 3
    push u32
    iretd

u32:                                    ; CPL3
    mov ax, UDATA | 3
    mov ds, ax
    mov es, ax
    mov R(0), esp
    call CG_SEL | 3 : 0
    mov ax, cs
    movzx eax, ax
    mov R(1), eax                       ; CS after returning through the gate
    mov ecx, esp
    mov edx, u32_after_se
    sysenter
u32_after_se:
    mov ax, cs
    movzx eax, ax
    mov R(2), eax
    mov ax, ss
    movzx eax, ax
    mov R(3), eax
    mov R(4), esp
    call CG_EXIT | 3 : 0

cg_target:                              ; CPL0 via call gate
    mov ax, cs
    movzx eax, ax
    mov R(10), eax
    mov ax, ss
    movzx eax, ax
    mov R(11), eax
    mov R(12), esp
    mov eax, [esp + 4]
    mov R(13), eax                      ; caller CS
    mov eax, [esp + 8]
    mov R(14), eax                      ; caller ESP
    mov eax, [esp + 12]
    mov R(15), eax                      ; caller SS
    retf

sysenter_entry:                         ; CPL0 via SYSENTER
    mov ax, cs
    movzx eax, ax
    mov R(20), eax
    mov ax, ss
    movzx eax, ax
    mov R(21), eax
    mov R(22), esp
    sysexit

exit_target:                            ; CPL0 via the exit call gate
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, [k_esp]

    mov eax, R(10)
    CHECK "call gate: CS in ring 0", KCODE32
    mov eax, R(11)
    CHECK "call gate: SS from TSS.SS0", KDATA
    mov eax, R(12)
    CHECK "call gate: ESP from TSS.ESP0", tss0_top - 16
    mov eax, R(13)
    CHECK "call gate: caller CS pushed", UCODE32 | 3
    mov eax, R(15)
    CHECK "call gate: caller SS pushed", UDATA | 3
    mov eax, R(14)
    CHECK "call gate: caller ESP pushed", u_top
    mov eax, R(1)
    CHECK "call gate: retf back to ring 3", UCODE32 | 3
    mov eax, R(20)
    CHECK "sysenter: CS = SYSENTER_CS", SE_CS
    mov eax, R(21)
    CHECK "sysenter: SS = SYSENTER_CS+8", SE_CS + 8
    mov eax, R(22)
    CHECK "sysenter: ESP = SYSENTER_ESP", se_top
    mov eax, R(2)
    CHECK "sysexit: CS = SYSENTER_CS+16|3", (SE_CS + 16) | 3
    mov eax, R(3)
    CHECK "sysexit: SS = SYSENTER_CS+24|3", (SE_CS + 24) | 3
    mov eax, R(4)
    CHECK "sysexit: ESP = ECX", u_top

    ; ------------------------------------------------ task switch (CALL)
    mov dword [tss2 + 32], task2_entry  ; EIP
    mov dword [tss2 + 36], 0x2          ; EFLAGS
    mov dword [tss2 + 40], 0x12345678   ; EAX
    mov dword [tss2 + 56], t2_top       ; ESP
    mov dword [tss2 + 72], KDATA        ; ES
    mov dword [tss2 + 76], KCODE32      ; CS
    mov dword [tss2 + 80], KDATA        ; SS
    mov dword [tss2 + 84], KDATA        ; DS
    mov dword [tss2 + 88], KDATA        ; FS
    mov dword [tss2 + 92], KDATA        ; GS
    mov word [tss2 + 102], 104
    mov ebx, 0xcafebabe
    mov esi, 0x5151
    call TSS2:0
task_ret:
    mov R(30), ebx
    pushfd
    pop eax
    mov R(31), eax
    str ax
    movzx eax, ax
    CHECK "task switch: TR back to the main TSS", TSS_MAIN
    mov eax, R(40)
    CHECK "task switch: new task's EAX loaded from its TSS", 0x12345678
    mov eax, R(41)
    and eax, 0x4000
    CHECK "task switch: NT set in nested task", 0x4000
    mov eax, R(42)
    CHECK "task switch: back-link = caller TSS", TSS_MAIN
    mov eax, R(43)
    CHECK "task switch: TR in new task", TSS2
    mov eax, R(44)
    CHECK "task switch: new TSS busy", 0x8b
    mov eax, R(45)
    CHECK "task switch: caller TSS stays busy", 0x8b
    movzx eax, byte [gdt + TSS2 + 5]
    CHECK "task switch: IRET clears nested TSS busy", 0x89
    mov eax, [tss_main + 52]
    CHECK "task switch: caller EBX saved in its TSS", 0xcafebabe
    mov eax, [tss_main + 32]
    CHECK "task switch: caller EIP saved in its TSS", task_ret
    mov eax, [tss2 + 32]
    CHECK "task switch: nested task EIP saved at IRET", task2_after_iret
    mov eax, R(30)
    CHECK "task switch: caller EBX restored", 0xcafebabe
    mov eax, R(31)
    and eax, 0x4000
    CHECK "task switch: NT clear after return", 0

    ; ------------------------------------------------ task switch (JMP)
    mov dword [tss3 + 32], task3_entry
    mov dword [tss3 + 36], 0x2
    mov dword [tss3 + 56], t3_top
    mov dword [tss3 + 72], KDATA
    mov dword [tss3 + 76], KCODE32
    mov dword [tss3 + 80], KDATA
    mov dword [tss3 + 84], KDATA
    mov dword [tss3 + 88], KDATA
    mov dword [tss3 + 92], KDATA
    mov word [tss3 + 102], 104
    mov edi, 0x7777
    jmp TSS3:0
task3_ret:
    mov eax, R(50)
    and eax, 0x4000
    CHECK "jmp task switch: NT clear", 0
    mov eax, R(51)
    CHECK "jmp task switch: old TSS not busy", 0x89
    mov eax, R(52)
    CHECK "jmp task switch: new TSS busy", 0x8b
    movzx eax, word [tss3]
    CHECK "jmp task switch: no back-link", 0
    mov eax, edi
    CHECK "jmp task switch: registers restored on return", 0x7777
    jmp enter_long

task2_entry:
    mov R(40), eax
    pushfd
    pop eax
    mov R(41), eax
    movzx eax, word [tss2]
    mov R(42), eax
    str ax
    movzx eax, ax
    mov R(43), eax
    movzx eax, byte [gdt + TSS2 + 5]
    mov R(44), eax
    movzx eax, byte [gdt + TSS_MAIN + 5]
    mov R(45), eax
    iretd
task2_after_iret:
    jmp task2_entry

task3_entry:
    pushfd
    pop eax
    mov R(50), eax
    movzx eax, byte [gdt + TSS_MAIN + 5]
    mov R(51), eax
    movzx eax, byte [gdt + TSS3 + 5]
    mov R(52), eax
    jmp TSS_MAIN:0

; ---------------------------------------------------------------- 64-bit
bits 64
main64:
    HOOK 0x80, h_int80
    GATE_ATTR 0x80, 0xEE                ; DPL3 interrupt gate
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1                           ; SCE
    wrmsr
    mov ecx, 0xC0000081                 ; STAR
    xor eax, eax
    mov edx, ((UCODE32 | 3) << 16) | KCODE64
    wrmsr
    mov ecx, 0xC0000082                 ; LSTAR
    mov eax, syscall_entry
    xor edx, edx
    wrmsr
    mov ecx, 0xC0000084                 ; FMASK: AC DF IF TF
    mov eax, 0x40700
    wrmsr

    TRY 13, .back
    push UDATA | 3
    push u_top
    push 0x202                          ; IF=1 in ring 3
    push UCODE64 | 3
    push u64
    iretq
.back:
    ENDTRY
    FAULT_CHECK "int 0x81 through a DPL0 gate from ring 3 -> #GP", 13, -1, u64_int81
    ; error code: IDT flag set, EXT clear (the index is vector*8 on hardware,
    ; QEMU 7.2 reports vector*16 in long mode, so only the flags are checked)
    mov rax, [caught_err]
    and eax, 3
    CHECK "#GP error code has IDT flag", 2
    mov rax, Q(0)
    CHECK "syscall: RCX = return RIP", u64_after_sys
    mov rax, Q(1)
    CHECK "syscall: R11 = RFLAGS", Q(10)
    mov rax, Q(2)
    and eax, 0x40700
    CHECK "syscall: FMASK cleared IF/DF/AC", 0
    mov rax, Q(3)
    CHECK "syscall: CS from STAR[47:32]", KCODE64
    mov rax, Q(4)
    CHECK "syscall: SS from STAR[47:32]+8", KDATA
    mov rax, Q(11)
    CHECK "sysret: CS = STAR[63:48]+16", UCODE64 | 3
    mov rax, Q(12)
    CHECK "sysret: SS = STAR[63:48]+8", UDATA | 3
    mov rax, Q(13)
    and eax, 0x40600
    CHECK "sysret: RFLAGS restored from R11", 0x40600
    mov rax, Q(14)
    CHECK "syscall/sysret: RAX result", 8
    mov rax, Q(15)
    CHECK "syscall: user RSP untouched", u_top - 8
    mov rax, Q(20)
    CHECK "int 0x80 from ring 3: saved CS", UCODE64 | 3
    mov rax, Q(21)
    CHECK "int 0x80 from ring 3: saved SS", UDATA | 3
    mov rax, Q(22)
    CHECK "int 0x80 from ring 3: RSP0 stack", rsp0_top - 40
    mov rax, Q(23)
    CHECK "int 0x80 from ring 3: result in RAX", 42
    jmp done64

h_int80:                                ; rdi = frame
    mov rax, [rdi + F_CS]
    mov Q(20), rax
    mov rax, [rdi + F_SS]
    mov Q(21), rax
    lea rax, [rdi + F_RIP]
    mov Q(22), rax
    shl qword [rdi + F_RAX], 1
    ret

syscall_entry:
    mov Q(15), rsp
    mov rsp, sys_top
    mov Q(0), rcx
    mov Q(1), r11
    pushfq
    pop qword Q(2)
    mov ax, cs
    movzx eax, ax
    mov Q(3), rax
    mov ax, ss
    movzx eax, ax
    mov Q(4), rax
    mov rax, Q(16)
    inc rax
    mov rsp, Q(15)
    o64 sysret

u64:                                    ; CPL3, 64-bit
    push rax
    std
    pushfq
    or qword [rsp], 0x40000             ; AC
    popfq
    pushfq
    pop qword Q(10)
    mov qword Q(16), 7
    mov eax, 7
    syscall
u64_after_sys:
    mov Q(14), rax
    mov ax, cs
    movzx eax, ax
    mov Q(11), rax
    mov ax, ss
    movzx eax, ax
    mov Q(12), rax
    pushfq
    pop qword Q(13)
    cld
    pushfq
    and qword [rsp], ~0x40000
    popfq
    mov eax, 21
    int 0x80
    mov Q(23), rax
u64_int81:
    int 0x81
    ud2
