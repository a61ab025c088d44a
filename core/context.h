/* Cooperative contexts: an event may block. ebb_context_save() parks the running event (its
 * stack stays as it is) and lets this core's loop go on with other events on a fresh stack;
 * ebb_context_activate() makes the parked event resume, on its own core, as an event. */
#pragma once
#include <stddef.h>

struct ebb_context {
    void *sp;
    void *stack;       /* the stack this context runs on (pool stack, or NULL: a thread's own) */
    unsigned core;
    void *san_;        /* sanitizer fiber state */
};

/* Blocks the current event until someone activates ctx. Must run inside an event. */
void ebb_context_save(struct ebb_context *ctx);
/* Resumes ctx (as an event on ctx->core); callable from any core, once per save. */
void ebb_context_activate(struct ebb_context *ctx);

/* For core/event.c: runs this core's loop on a pool stack, returns after ebb_exit(). */
void ebb_context_run_loop(void);
void ebb_context_core_cleanup(void);

#define EBB_STACK_SIZE (256u * 1024)
