/* The baseline of the boot benchmark: a multiboot kernel (32-bit ELF) whose first instruction
 * exits QEMU through isa-debug-exit, so QEMU start -> exit with it is QEMU's and the firmware's
 * own cost. Built by tests/bench/native_boot.sh. */
    .code32
    .text
    .align 4
    .long 0x1BADB002, 0, -0x1BADB002
    .globl _start
_start:
    mov $0xf4, %dx
    xor %eax, %eax
    out %eax, %dx
1:  hlt
    jmp 1b
    .section .note.GNU-stack, "", @progbits
