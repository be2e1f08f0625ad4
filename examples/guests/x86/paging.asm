; paging.asm -- paging: 32-bit non-PAE (4 KiB + 4 MiB PSE pages), 32-bit PAE,
; then long mode: #PF error codes and CR2 (P/W/U/I/RSVD), CR0.WP, NX, user vs
; supervisor pages from CPL3, accessed/dirty bits, INVLPG, 2 MiB and 1 GiB
; pages, SMEP/SMAP (CPUID-gated).
%include "lib/base.inc"
%include "lib/longmode.inc"
%include "lib/idt64.inc"

TV      equ 0x8000000000            ; test region: PML4[1]
MARKER  equ 0x5a3c96e1

section .bss
alignb 4096
pd32:       resb 4096
pt32:       resb 4096
pdpt_pae:   resb 4096
pd_pae:     resb 4096
pd_pae2:    resb 4096
pt_pae:     resb 4096
tpdpt:      resb 4096
tpd:        resb 4096
tpt:        resb 4096
tpages:     resb 12*4096
%define TP(n) (tpages + (n)*4096)
section .text

marker: dd MARKER

bits 32
main32:
    ; ---------------------------------------------------- 32-bit, non-PAE
    mov dword [pd32 + 0*4], 0x00000083          ; 4 MiB identity (PSE)
    mov dword [pd32 + 1*4], pt32 + 3            ; 0x400000: 4 KiB pages
    mov dword [pd32 + 2*4], 0x00000083          ; 0x800000 -> phys 0 (4 MiB)
    mov dword [pt32 + 0*4], TP(0) + 3
    mov dword [pt32 + 1*4], TP(1) + 3
    mov dword [TP(0)], 0
    mov dword [TP(1)], 0
    mov eax, cr4
    or eax, 0x10                                ; PSE
    mov cr4, eax
    mov eax, pd32
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov dword [0x400000], 0x11223344
    mov dword [0x401000], 0x55667788
    mov ebx, [TP(0)]                            ; through the 4 MiB identity
    mov ecx, [TP(1)]
    mov edx, [0x800000 + marker]                ; 4 MiB alias of phys 0
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    mov eax, ebx
    CHECK "32-bit paging 4 KiB page", 0x11223344
    mov eax, ecx
    CHECK "32-bit paging 4 KiB page 2", 0x55667788
    mov eax, edx
    CHECK "32-bit paging 4 MiB PSE page", MARKER
    mov eax, [pd32 + 1*4]
    and eax, 0x20
    CHECK "32-bit paging PDE accessed bit", 0x20
    mov eax, [pt32 + 0*4]
    and eax, 0x60
    CHECK "32-bit paging PTE accessed+dirty", 0x60

    ; ---------------------------------------------------- 32-bit PAE
    mov dword [pdpt_pae + 0*8], pd_pae + 1      ; PDPTEs: P only
    mov dword [pdpt_pae + 1*8], pd_pae2 + 1
    mov dword [pd_pae + 0*8], 0x00000083        ; 0..2 MiB identity
    mov dword [pd_pae + 1*8], pt_pae + 3        ; 2 MiB: 4 KiB pages
    mov dword [pd_pae2 + 0*8], 0x00000083       ; 1 GiB -> phys 0 (2 MiB page)
    mov dword [pt_pae + 0*8], TP(2) + 3
    mov dword [TP(2)], 0
    mov eax, cr4
    or eax, 0x20                                ; PAE
    mov cr4, eax
    mov eax, pdpt_pae
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov dword [0x200000], 0x99aabbcc
    mov ebx, [TP(2)]
    mov edx, [0x40000000 + marker]
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    mov eax, ebx
    CHECK "PAE paging 4 KiB page", 0x99aabbcc
    mov eax, edx
    CHECK "PAE paging 2 MiB page", MARKER
    jmp enter_long

bits 64
; map4k: rdi = index in tpt, rax = PTE; flushes the TLB entry
map4k:
    mov [tpt + rdi*8], rax
    push rdi
    shl rdi, 12
    add rdi, [tvbase]
    invlpg [rdi]
    pop rdi
    ret
tvbase: dq TV

%macro MAP 2
    mov edi, %1
    mov rax, %2
    call map4k
%endmacro

main64:
    mov qword [pml4 + 8], tpdpt + 7
    mov qword [tpdpt], tpd + 7
    mov qword [tpd], tpt + 7
    mov rax, cr3
    mov cr3, rax

    ; ---------------------------------------------------- not present
    MAP 0, 0
    TRY 14, .np1r
    mov rbx, TV
.np1:
    mov al, [rbx]
.np1r:
    ENDTRY
    FAULT_CHECK "#PF not-present read err=0", 14, 0, .np1
    mov rax, [caught_cr2]
    CHECK "#PF not-present read CR2", TV
    TRY 14, .np2r
    mov rbx, TV + 0x18
.np2:
    mov byte [rbx], 1
.np2r:
    ENDTRY
    FAULT_CHECK "#PF not-present write err=W", 14, 2, .np2
    mov rax, [caught_cr2]
    CHECK "#PF not-present write CR2", TV + 0x18

    ; ---------------------------------------------------- read-only + WP
    mov dword [TP(1)], 0
    MAP 1, TP(1) + 1
    TRY 14, .ro1r
    mov rbx, TV + 0x1000
.ro1:
    mov dword [rbx], 0x1234
.ro1r:
    ENDTRY
    FAULT_CHECK "#PF write to read-only page (WP=1) err=P|W", 14, 3, .ro1
    mov rax, cr0
    btr rax, 16
    mov cr0, rax
    TRY 14, .ro2r
    mov rbx, TV + 0x1000
    mov dword [rbx], 0x1234
.ro2r:
    ENDTRY
    mov rax, cr0
    bts rax, 16
    mov cr0, rax
    mov rax, [caught_vec]
    cmp rax, -1
    jne .ro2bad
    cmp dword [TP(1)], 0x1234
    jne .ro2bad
    PASS "no #PF on read-only write at CPL0 with WP=0"
    jmp .ro2ok
.ro2bad:
    FAIL "no #PF on read-only write at CPL0 with WP=0", "faulted or not written"
.ro2ok:

    ; ---------------------------------------------------- NX
    mov byte [TP(2)], 0xc3                      ; ret
    mov eax, TP(2) + 3
    bts rax, 63                                 ; NX
    MAP 2, rax
    TRY 14, .nx1r
    mov rbx, TV + 0x2000
    call rbx
.nx1r:
    ENDTRY
    mov rax, TV + 0x2000
    FAULT_CHECK "#PF NX instruction fetch err=P|I", 14, 0x11, rax
    mov rax, [caught_cr2]
    CHECK "#PF NX fetch CR2", TV + 0x2000
    MAP 2, TP(2) + 3
    TRY 14, .nx2r
    mov rbx, TV + 0x2000
    call rbx
.nx2r:
    ENDTRY
    mov rax, [caught_vec]
    CHECK "fetch from executable page", -1

    ; ---------------------------------------------------- user vs supervisor
    mov rsi, ucode
    mov rdi, TP(4)
    mov ecx, ucode_end - ucode
    rep movsb
    mov byte [TP(4) + 0x800], 0xc3              ; ret, for SMEP
    mov dword [TP(5)], 0xfeedf00d
    MAP 4, TP(4) + 7                            ; user code
    MAP 5, TP(5) + 7                            ; user data/stack
    MAP 6, TP(6) + 3                            ; supervisor
    TRY 14, .us1r
    push UDATA | 3
    mov rax, TV + 0x6000
    push rax
    push 0x2
    push UCODE64 | 3
    mov rax, TV + 0x4000
    push rax
    iretq
.us1r:
    ENDTRY
    mov rax, TV + 0x4000 + (ucode_fault - ucode)
    FAULT_CHECK "#PF user read of supervisor page err=P|U", 14, 5, rax
    mov rax, [caught_cs]
    CHECK "#PF from CPL3 saved CS", UCODE64 | 3
    mov rax, [caught_cr2]
    CHECK "#PF from CPL3 CR2", TV + 0x6000
    mov rax, [caught_hrsp]
    cmp rax, rsp0_stack
    jb .us1bad
    cmp rax, rsp0_top
    ja .us1bad
    cmp dword [TP(5) + 8], 0xfeedf00d
    jne .us1bad
    PASS "CPL3 reads user page, fault on TSS.RSP0 stack"
    jmp .us1ok
.us1bad:
    FAIL "CPL3 reads user page, fault on TSS.RSP0 stack", "bad rsp or user read"
.us1ok:

    ; ---------------------------------------------------- accessed / dirty
    MAP 7, TP(7) + 3
    mov rbx, TV + 0x7000
    mov al, [rbx]
    mov rax, [tpt + 7*8]
    and eax, 0x60
    CHECK "accessed bit set on read, dirty clear", 0x20
    mov byte [rbx], 1
    mov rax, [tpt + 7*8]
    and eax, 0x60
    CHECK "dirty bit set on write", 0x60
    mov rax, [tpd]
    and eax, 0x20
    CHECK "accessed bit set in PDE", 0x20

    ; ---------------------------------------------------- INVLPG
    mov dword [TP(8)], 0x11111111
    mov dword [TP(9)], 0x22222222
    MAP 8, TP(8) + 3
    mov rbx, TV + 0x8000
    mov eax, [rbx]
    cmp eax, 0x11111111
    jne .invbad
    mov qword [tpt + 8*8], TP(9) + 3
    invlpg [rbx]
    mov eax, [rbx]
    CHECK "INVLPG makes new PTE visible", 0x22222222
    jmp .invok
.invbad:
    FAIL "INVLPG makes new PTE visible", "initial mapping wrong"
.invok:

    ; ---------------------------------------------------- 2 MiB / 1 GiB pages
    mov qword [tpd + 8], 0x83                   ; TV+2M -> phys 0, 2 MiB page
    mov rbx, TV + 0x200000
    add rbx, marker
    invlpg [rbx]
    mov eax, [rbx]
    CHECK "2 MiB page", MARKER
    mov rbx, TV + 0x200000
    add rbx, TP(11)
    mov byte [rbx], 1
    mov rax, [tpd + 8]
    and eax, 0x60
    CHECK "2 MiB page accessed+dirty", 0x60

    mov eax, 0x80000001
    cpuid
    bt edx, 26
    jnc .no1g
    mov qword [tpdpt + 8], 0x83                 ; TV+1G -> phys 0, 1 GiB page
    mov rbx, TV + 0x40000000
    add rbx, marker
    invlpg [rbx]
    mov eax, [rbx]
    CHECK "1 GiB page", MARKER
    mov rbx, TV + 0x40000000 + 0x7ff0000        ; 128 MiB - 64 KiB: same phys
    mov rcx, 0x7ff0000
    mov dword [rcx], 0xabcd0123
    mov eax, [rbx]
    CHECK "1 GiB page high offset", 0xabcd0123
    jmp .g1d
.no1g:
    PASS "1 GiB page (skipped: no pdpe1gb)"
    PASS "1 GiB page high offset (skipped: no pdpe1gb)"
.g1d:

    ; ---------------------------------------------------- reserved bit
    mov eax, 0x80000008
    cpuid
    and eax, 0xff
    cmp eax, 52
    jae .norsvd
    mov eax, TP(10) + 3
    bts rax, 51                                 ; reserved (MAXPHYADDR < 52)
    MAP 10, rax
    TRY 14, .rsr
    mov rbx, TV + 0xa000
.rs1:
    mov al, [rbx]
.rsr:
    ENDTRY
    FAULT_CHECK "#PF reserved PTE bit", 14, -1, .rs1
    ; RSVD must be set, W/U/I clear; P is 1 on hardware but 0 in QEMU 7.2
    mov rax, [caught_err]
    and eax, 0x1e
    CHECK "#PF reserved bit error code RSVD", 8
    mov rax, [caught_cr2]
    CHECK "#PF reserved bit CR2", TV + 0xa000
    jmp .rsd
.norsvd:
    PASS "#PF reserved PTE bit (skipped: MAXPHYADDR=52)"
    PASS "#PF reserved bit error code RSVD (skipped: MAXPHYADDR=52)"
    PASS "#PF reserved bit CR2 (skipped: MAXPHYADDR=52)"
.rsd:

    ; ---------------------------------------------------- SMEP / SMAP
    mov eax, 7
    xor ecx, ecx
    cpuid
    mov [cpuid7_ebx], ebx
    bt ebx, 7
    jnc .nosmep
    mov rax, cr4
    bts rax, 20
    mov cr4, rax
    TRY 14, .sm1r
    mov rbx, TV + 0x4800
    call rbx
.sm1r:
    ENDTRY
    mov rax, cr4
    btr rax, 20
    mov cr4, rax
    mov rax, TV + 0x4800
    FAULT_CHECK "SMEP fetch from user page err=P|I", 14, 0x11, rax
    jmp .smepd
.nosmep:
    PASS "SMEP fetch from user page err=P|I (skipped: no smep)"
.smepd:
    bt dword [cpuid7_ebx], 20
    jnc .nosmap
    mov rax, cr4
    bts rax, 21
    mov cr4, rax
    clac
    TRY 14, .sa1r
    mov rbx, TV + 0x5000
.sa1:
    mov eax, [rbx]
.sa1r:
    ENDTRY
    FAULT_CHECK "SMAP data access to user page err=P", 14, 1, .sa1
    TRY 14, .sa2r
    stac
    mov rbx, TV + 0x5000
    mov eax, [rbx]
    clac
.sa2r:
    ENDTRY
    mov rdx, rax
    mov rax, cr4
    btr rax, 21
    mov cr4, rax
    mov rax, [caught_vec]
    cmp rax, -1
    jne .sa2bad
    cmp edx, 0xfeedf00d
    jne .sa2bad
    PASS "SMAP access allowed with AC=1 (stac)"
    jmp .smapd
.sa2bad:
    FAIL "SMAP access allowed with AC=1 (stac)", "faulted"
    jmp .smapd
.nosmap:
    PASS "SMAP data access to user page err=P (skipped: no smap)"
    PASS "SMAP access allowed with AC=1 (stac) (skipped: no smap)"
.smapd:
    jmp done64

cpuid7_ebx: dd 0

; ring-3 code, copied to TV+0x4000 (user page); user stack page at TV+0x5000
ucode:
    mov rbx, TV + 0x5000
    mov eax, [rbx]                  ; user page: fine
    mov [rbx + 8], eax
    push rax                        ; user stack works
    pop rax
    mov rbx, TV + 0x6000
ucode_fault:
    mov ecx, [rbx]                  ; supervisor page: #PF
    ud2
ucode_end:
