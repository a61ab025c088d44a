/* Context switch for x86_64 (System V): saves the callee-saved registers on the current stack,
 * stores the stack pointer in *save (rdi), loads `next` (rsi) and restores from there.
 *   void ebb_ctx_switch(void **save, void *next);
 * A fresh stack is prepared by ebb_ctx_prepare() so that the restore lands in ebb_ctx_start,
 * which calls r12(r13) and must never return. */
    .text
    .globl ebb_ctx_switch
    .type ebb_ctx_switch, @function
ebb_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size ebb_ctx_switch, .-ebb_ctx_switch

    .globl ebb_ctx_start
    .type ebb_ctx_start, @function
ebb_ctx_start:
    movq %r13, %rdi
    callq *%r12
    ud2
    .size ebb_ctx_start, .-ebb_ctx_start

    .section .note.GNU-stack,"",@progbits
