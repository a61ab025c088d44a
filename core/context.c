/* Cooperative contexts (see context.h). A core runs its loop on a pool stack. Saving a context
 * leaves its stack as it is and starts the loop anew on another pool stack; activating it spawns
 * an event on its core that switches to it and gives the stack that event ran on back to the
 * pool. The loop keeps no state on its stack, so abandoning a loop frame loses nothing. */
#include "core/context.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/platform.h"
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define SAN_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define SAN_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define SAN_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define SAN_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

void ebb_ctx_switch(void **save, void *next);
void ebb_ctx_start(void);

#define POOL_MAX 16

struct stack {
    struct stack *next_all;
};

/* Per core; touched only by its own core. */
static struct ctx_core {
    void *cur;                 /* the pool stack running now */
    void *pending_free;        /* stack left behind by a resume, recycled by the resumed side */
    void *pool[POOL_MAX];
    unsigned npool;
    void **all;                /* every stack this core made, for cleanup */
    unsigned nall, allcap;
    void *exit_sp;             /* the thread's own stack, to return to when the loop ends */
    const void *exit_bottom;
    size_t exit_size;
    void *exit_san;
} cc[EBB_MAX_CORES];

static void *stack_get(struct ctx_core *c)
{
    if (c->npool)
        return c->pool[--c->npool];
    void *s = platform_stack_alloc(EBB_STACK_SIZE);
    if (!s)
        ebb_panic("context: out of memory for a stack");
    if (c->nall == c->allcap) {
        c->allcap = c->allcap ? 2 * c->allcap : 16;
        c->all = realloc(c->all, c->allcap * sizeof *c->all);
        if (!c->all)
            ebb_panic("context: out of memory");
    }
    c->all[c->nall++] = s;
    return s;
}

static void stack_put(struct ctx_core *c, void *s)
{
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = s;
        return;
    }
    for (unsigned i = 0; i < c->nall; i++) {
        if (c->all[i] == s) {
            c->all[i] = c->all[--c->nall];
            break;
        }
    }
    platform_stack_free(s, EBB_STACK_SIZE);
}

/* Lays out a frame that ebb_ctx_switch "returns" into: ebb_ctx_start with r12=fn, r13=arg. */
static void *prepare(void *stack, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack + EBB_STACK_SIZE) & ~(uintptr_t)15;
    void **sp = (void **)(top - 24); /* after `ret`, rsp is 16-byte aligned for the call */
    sp[0] = (void *)ebb_ctx_start;
    sp -= 6;
    sp[0] = NULL;        /* r15 */
    sp[1] = NULL;        /* r14 */
    sp[2] = arg;         /* r13 */
    sp[3] = (void *)fn;  /* r12 */
    sp[4] = NULL;        /* rbx */
    sp[5] = NULL;        /* rbp: ends backtraces */
    return sp;
}

static void recycle_pending(struct ctx_core *c)
{
    if (c->pending_free) {
        stack_put(c, c->pending_free);
        c->pending_free = NULL;
    }
}

static void loop_entry(void *first)
{
    struct ctx_core *c = &cc[ebb_core()];
    const void *bottom = NULL;
    size_t size = 0;
    SAN_FINISH(NULL, &bottom, &size);
    if (first) { /* came from the thread's own stack: remember it for the way out */
        c->exit_bottom = bottom;
        c->exit_size = size;
    }
    recycle_pending(c);
    ebb_loop_run();
    c = &cc[ebb_core()];
    void *dummy;
    SAN_START(NULL, c->exit_bottom, c->exit_size);
    ebb_ctx_switch(&dummy, c->exit_sp);
    __builtin_unreachable();
}

void ebb_context_run_loop(void)
{
    struct ctx_core *c = &cc[ebb_core()];
    c->cur = stack_get(c);
    SAN_START(&c->exit_san, c->cur, EBB_STACK_SIZE);
    ebb_ctx_switch(&c->exit_sp, prepare(c->cur, loop_entry, (void *)1));
    SAN_FINISH(cc[ebb_core()].exit_san, NULL, NULL);
}

void ebb_context_save(struct ebb_context *ctx)
{
    struct ctx_core *c = &cc[ebb_core()];
    if (!ebb_in_event_loop())
        ebb_panic("context: save outside an event");
    ctx->core = ebb_core();
    ctx->stack = c->cur;
    c->cur = stack_get(c);
    SAN_START(&ctx->san_, c->cur, EBB_STACK_SIZE);
    ebb_ctx_switch(&ctx->sp, prepare(c->cur, loop_entry, NULL));
    /* Resumed by resume() on this same core. */
    SAN_FINISH(ctx->san_, NULL, NULL);
    recycle_pending(&cc[ebb_core()]);
}

static void resume(void *arg)
{
    struct ebb_context *ctx = arg;
    struct ctx_core *c = &cc[ebb_core()];
    c->pending_free = c->cur;
    c->cur = ctx->stack;
    void *dummy;
    SAN_START(NULL, ctx->stack, EBB_STACK_SIZE);
    ebb_ctx_switch(&dummy, ctx->sp);
    __builtin_unreachable();
}

void ebb_context_activate(struct ebb_context *ctx)
{
    ebb_spawn_on(ctx->core, resume, ctx);
}

void ebb_context_core_cleanup(void)
{
    struct ctx_core *c = &cc[ebb_core()];
    for (unsigned i = 0; i < c->nall; i++)
        platform_stack_free(c->all[i], EBB_STACK_SIZE);
    free(c->all);
    c->all = NULL;
    c->nall = c->allcap = c->npool = 0;
    c->cur = c->pending_free = NULL;
}
