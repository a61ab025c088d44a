/* Boot: the multiboot v1 header, the 32-bit entry that switches to long mode, the AP
 * trampoline, and the interrupt entry stubs.
 *
 * QEMU's -kernel refuses a 64-bit ELF for multiboot, so the header carries the a.out-kludge
 * address fields (flags bit 16): the loader copies the image by those physical addresses and
 * ignores the ELF headers. The kernel is linked at -2 GiB + 1 MiB and loaded at 1 MiB; until
 * paging is on, code uses PHYS(symbol). */
#define KVMA 0xFFFFFFFF80000000
#define PHYS(x) ((x) - KVMA)
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003 /* page-aligned modules, memory map, a.out kludge */
#define TRAMP 0x8000        /* AP trampoline, physical; SIPI vector 0x08 */
#define COM1 0x3f8

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long PHYS(mb_header)
    .long PHYS(_kernel_start)
    .long PHYS(_load_end)
    .long PHYS(_kernel_end)
    .long PHYS(_start)

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    mov %eax, %edi                /* multiboot magic */
    mov %ebx, %esi                /* multiboot info (physical) */
    rdtsc                         /* the first-instruction stamp for boot-time numbers */
    mov %eax, PHYS(native_boot_tsc)
    mov %edx, PHYS(native_boot_tsc) + 4
    mov $PHYS(boot_stack_top), %esp

    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc no_long_mode

    /* Boot page tables (in .bss, zeroed by the loader): the first GiB mapped with 2 MiB pages
     * both at 0 (identity, to survive enabling paging) and at -2 GiB (where the kernel runs).
     * mm.c replaces them with the real ones. */
    mov $PHYS(boot_pdpt) + 3, %eax
    mov %eax, PHYS(boot_pml4)
    mov %eax, PHYS(boot_pml4) + 511 * 8
    mov $PHYS(boot_pd) + 3, %eax
    mov %eax, PHYS(boot_pdpt)
    mov %eax, PHYS(boot_pdpt) + 510 * 8
    mov $PHYS(boot_pd), %ebx
    mov $0x83, %eax               /* present, writable, 2 MiB */
    mov $512, %ecx
1:  mov %eax, (%ebx)
    add $0x200000, %eax
    add $8, %ebx
    loop 1b

    mov $PHYS(boot_pml4), %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x620, %eax               /* PAE, OSFXSR, OSXMMEXCPT: C code may use SSE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx         /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    and $~0x4, %eax               /* no x87 emulation */
    or $0x80010023, %eax          /* PG, WP, NE, MP, PE */
    mov %eax, %cr0
    lgdt PHYS(boot_gdt_ptr)
    ljmp $0x08, $PHYS(start64_low)

no_long_mode:
    mov $PHYS(no_lm_msg), %ebx
2:  movb (%ebx), %al
    test %al, %al
    jz 3f
    mov $COM1, %dx
    outb %al, %dx
    inc %ebx
    jmp 2b
3:  mov $0xf4, %dx                /* isa-debug-exit, if present */
    mov $1, %eax
    outl %eax, %dx
4:  hlt
    jmp 4b

    .code64
start64_low:
    movabs $start64, %rax
    jmp *%rax

    .text
start64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $boot_stack_top, %rsp
    fninit
    xor %ebp, %ebp
    call native_kmain             /* (magic, multiboot info) */
5:  cli
    hlt
    jmp 5b

    /* An AP arrives here from the trampoline, on its own page tables and boot stack. */
    .globl native_ap_entry64
native_ap_entry64:
    fninit
    xor %ebp, %ebp
    call native_ap_main
6:  cli
    hlt
    jmp 6b

    .section .rodata
no_lm_msg:
    .asciz "ebbrt: this CPU has no long mode (x86_64)\n"
    .align 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF      /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF      /* 0x10: data */
boot_gdt_ptr:
    .word 23
    .long PHYS(boot_gdt)

/* The AP trampoline, copied to TRAMP (0x8000) by smp.c and entered in real mode at
 * 0800:0000. It goes straight to long mode (PAE, EFER.LME, then PE and PG together) on the page
 * tables smp.c put in tramp_cr3, and jumps to native_ap_entry64 with tramp_stack. */
#define T(x) (TRAMP + (x) - native_tramp_start)
    .globl native_tramp_start, native_tramp_end, native_tramp_cr3, native_tramp_stack
    .code16
native_tramp_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl T(tramp_gdt_ptr)
    mov $0x620, %eax              /* PAE, OSFXSR, OSXMMEXCPT */
    mov %eax, %cr4
    mov T(native_tramp_cr3), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov $0x80010023, %eax         /* PG, WP, NE, MP, PE */
    mov %eax, %cr0
    ljmpl $0x08, $T(tramp64)
    .code64
tramp64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov T(native_tramp_stack), %rsp
    movabs $native_ap_entry64, %rax
    jmp *%rax
    .align 8
tramp_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
tramp_gdt_ptr:
    .word 23
    .long T(tramp_gdt)
    .align 8
native_tramp_cr3:
    .quad 0
native_tramp_stack:
    .quad 0
native_tramp_end:

/* Interrupt entry: one stub per vector pushes a zero error code where the CPU pushes none, then
 * the vector, and joins isr_common, which saves the registers as a struct trap_frame (native.h)
 * and calls native_trap(frame). */
    .text
    .macro isr_stub v
    .align 16
    .if (\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
    .else
    pushq $0
    .endif
    pushq $\v
    jmp isr_common
    .endm

    .align 16
    .globl native_isr_stubs
native_isr_stubs:
    .set v, 0
    .rept 256
    isr_stub v
    .set v, v + 1
    .endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call native_trap
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

    .bss
    .align 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096
    .globl native_boot_tsc
native_boot_tsc:
    .skip 8
    .align 16
boot_stack:
    .skip 16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
