; hello.asm -- smoke test: print a greeting and one PASS line in 32-bit PM.
%include "lib/base.inc"
bits 32
main32:
    PRINT "Hello from chimera guest", 10
    mov eax, [mb_magic]
    cmp eax, 0x2BADB002
    EXPECT e, "hello"
    jmp done32
