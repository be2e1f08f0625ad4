; demo.asm -- chimera's built-in demo guest: banner, CPUID vendor/brand/
; family/model/stepping and feature names, vCPU count (fw_cfg) and RAM size
; (Multiboot + fw_cfg), then ACPI S5 power-off (QEMU pc: PM1a_CNT at 0x604),
; falling back to isa-debug-exit 0.
%include "lib/base.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

section .bss
brand:      resb 52
vend:       resb 16
section .text

bits 32
main32:
    jmp enter_long

bits 64
; print_features: eax = register value, rsi = 32 packed names (empty = skip)
print_features:
    push rbx
    push rcx
    mov ebx, eax
    xor ecx, ecx
.l: cmp byte [rsi], 0
    je .skip
    bt ebx, ecx
    jnc .skip
    mov al, ' '
    call putc64
    call puts64
.skip:
.z: lodsb                       ; advance past this name
    test al, al
    jnz .z
    inc ecx
    cmp ecx, 32
    jb .l
    call nl64
    pop rcx
    pop rbx
    ret

fw_bytes:                       ; ax = selector, ecx = count -> rax
    push rdx
    push rbx
    push r8
    mov dx, 0x510
    out dx, ax
    mov dx, 0x511
    xor ebx, ebx
    xor r8, r8
.l: in al, dx
    movzx rax, al
    push rcx
    mov ecx, ebx
    shl rax, cl
    pop rcx
    or r8, rax
    add ebx, 8
    loop .l
    mov rax, r8
    pop r8
    pop rbx
    pop rdx
    ret

main64:
    PRINT "chimera demo guest", 10
    xor eax, eax
    cpuid
    mov r12d, eax               ; max basic leaf
    mov [vend], ebx
    mov [vend + 4], edx
    mov [vend + 8], ecx
    PRINT "cpu vendor: "
    mov rsi, vend
    call puts64
    call nl64

    mov eax, 0x80000000
    cpuid
    mov r13d, eax               ; max extended leaf
    cmp eax, 0x80000004
    jb .nobrand
    mov rdi, brand
    mov r8d, 0x80000002
.b: mov eax, r8d
    cpuid
    mov [rdi], eax
    mov [rdi + 4], ebx
    mov [rdi + 8], ecx
    mov [rdi + 12], edx
    add rdi, 16
    inc r8d
    cmp r8d, 0x80000004
    jbe .b
    mov byte [rdi], 0
    mov rsi, brand
.sp:cmp byte [rsi], ' '
    jne .spd
    inc rsi
    jmp .sp
.spd:
    PRINT "cpu brand: "
    call puts64
    call nl64
.nobrand:
    mov eax, 1
    cpuid
    mov r14d, eax
    mov r15d, ecx
    mov ebx, edx
    mov eax, r14d
    shr eax, 8
    and eax, 0xf                ; family
    mov ecx, eax
    cmp eax, 0xf
    jne .f1
    mov edx, r14d
    shr edx, 20
    and edx, 0xff
    add ecx, edx
.f1:
    mov eax, r14d
    shr eax, 4
    and eax, 0xf                ; model
    mov edx, r14d
    shr edx, 12
    and edx, 0xf0
    cmp ecx, 6
    je .m1
    cmp ecx, 0xf
    jb .m2
.m1:add eax, edx
.m2:
    PRINT "family "
    push rax
    mov eax, ecx
    call putdec64
    pop rax
    PRINT " model "
    call putdec64
    PRINT " stepping "
    mov eax, r14d
    and eax, 0xf
    call putdec64
    call nl64

    PRINT "features 1:edx:"
    mov eax, ebx
    mov rsi, names_1edx
    call print_features
    PRINT "features 1:ecx:"
    mov eax, r15d
    mov rsi, names_1ecx
    call print_features
    cmp r12d, 7
    jb .no7
    mov eax, 7
    xor ecx, ecx
    cpuid
    mov r14d, ecx
    mov r15d, edx
    PRINT "features 7:ebx:"
    mov eax, ebx
    mov rsi, names_7ebx
    call print_features
    PRINT "features 7:ecx:"
    mov eax, r14d
    mov rsi, names_7ecx
    call print_features
    PRINT "features 7:edx:"
    mov eax, r15d
    mov rsi, names_7edx
    call print_features
.no7:
    cmp r13d, 0x80000001
    jb .noext
    mov eax, 0x80000001
    cpuid
    mov r14d, ecx
    PRINT "features 80000001:edx:"
    mov eax, edx
    mov rsi, names_e1edx
    call print_features
    PRINT "features 80000001:ecx:"
    mov eax, r14d
    mov rsi, names_e1ecx
    call print_features
.noext:

    ; ------------------------------------------------ fw_cfg / memory
    xor eax, eax
    mov ecx, 4
    call fw_bytes
    cmp eax, 0x554d4551         ; "QEMU"
    jne .nofw
    PRINT "vcpus (fw_cfg): "
    mov ax, 5
    mov ecx, 2
    call fw_bytes
    call putdec64
    call nl64
    PRINT "ram (fw_cfg): "
    mov ax, 3
    mov ecx, 8
    call fw_bytes
    shr rax, 20
    call putdec64
    PRINT " MiB", 10
    jmp .fwd
.nofw:
    PRINT "fw_cfg: not present", 10
.fwd:
    mov ebx, [mb_info]
    test dword [rbx], 1
    jz .nomb
    PRINT "ram (multiboot mem_upper): "
    mov eax, [rbx + 8]
    add eax, 1024
    shr eax, 10
    call putdec64
    PRINT " MiB", 10
.nomb:
    PRINT "powering off", 10
    mov dx, 0x604
    mov ax, 0x2000
    out dx, ax
    mov ecx, 1000000
.w: pause
    loop .w
    xor eax, eax
    jmp exit64

%macro NAMES 1-*
  %rep %0
    db %1, 0
  %rotate 1
  %endrep
%endmacro
names_1edx:
    NAMES "fpu","vme","de","pse","tsc","msr","pae","mce","cx8","apic","","sep"
    NAMES "mtrr","pge","mca","cmov","pat","pse36","psn","clflush","","ds","acpi","mmx"
    NAMES "fxsr","sse","sse2","ss","htt","tm","ia64","pbe"
names_1ecx:
    NAMES "sse3","pclmulqdq","dtes64","monitor","ds_cpl","vmx","smx","est","tm2"
    NAMES "ssse3","cnxt_id","sdbg","fma","cx16","xtpr","pdcm","","pcid","dca"
    NAMES "sse4_1","sse4_2","x2apic","movbe","popcnt","tsc_deadline","aes","xsave"
    NAMES "osxsave","avx","f16c","rdrand","hypervisor"
names_7ebx:
    NAMES "fsgsbase","tsc_adjust","sgx","bmi1","hle","avx2","fdp_excptn_only","smep"
    NAMES "bmi2","erms","invpcid","rtm","pqm","zero_fcs_fds","mpx","rdt_a","avx512f"
    NAMES "avx512dq","rdseed","adx","smap","avx512ifma","pcommit","clflushopt","clwb"
    NAMES "intel_pt","avx512pf","avx512er","avx512cd","sha_ni","avx512bw","avx512vl"
names_7ecx:
    NAMES "prefetchwt1","avx512vbmi","umip","pku","ospke","waitpkg","avx512_vbmi2"
    NAMES "cet_ss","gfni","vaes","vpclmulqdq","avx512_vnni","avx512_bitalg","tme"
    NAMES "avx512_vpopcntdq","","la57","","","","","","rdpid","kl","bus_lock_detect"
    NAMES "cldemote","","movdiri","movdir64b","enqcmd","sgx_lc","pks"
names_7edx:
    NAMES "","","avx512_4vnniw","avx512_4fmaps","fsrm","uintr","","","avx512_vp2intersect"
    NAMES "srbds_ctrl","md_clear","rtm_always_abort","","tsx_force_abort","serialize"
    NAMES "hybrid","tsxldtrk","","pconfig","arch_lbr","cet_ibt","","amx_bf16"
    NAMES "avx512_fp16","amx_tile","amx_int8","spec_ctrl","stibp","flush_l1d"
    NAMES "arch_capabilities","core_capabilities","ssbd"
names_e1edx:
    NAMES "","","","","","","","","","","","syscall","","","","","","","",""
    NAMES "nx","","mmxext","","","fxsr_opt","pdpe1gb","rdtscp","","lm","3dnowext","3dnow"
names_e1ecx:
    NAMES "lahf_lm","cmp_legacy","svm","extapic","cr8_legacy","abm","sse4a"
    NAMES "misalignsse","3dnowprefetch","osvw","ibs","xop","skinit","wdt","","lwp"
    NAMES "fma4","tce","","nodeid_msr","","tbm","topoext","perfctr_core","perfctr_nb"
    NAMES "","bpext","ptsc","perfctr_llc","mwaitx","",""
