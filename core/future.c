/* Futures: one object shared by the promise (writer) and the future (reader). Whichever of
 * "complete" and "consume" comes second runs the consumer's callback and frees the object. */
#include "core/future.h"
#include "core/context.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/spinlock.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

typedef void (*done_fn)(void *arg, int err, uint64_t value);

struct ebb_future {
    int lock;
    bool done;
    int err;
    uint64_t value;
    done_fn cb;
    void *cb_arg;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        ebb_panic("future: out of memory");
    return p;
}

static struct ebb_future *fut_new(void)
{
    struct ebb_future *f = xmalloc(sizeof *f);
    *f = (struct ebb_future){ 0 };
    return f;
}

static void complete(struct ebb_future *f, int err, uint64_t value)
{
    spin_lock(&f->lock);
    if (f->done)
        ebb_panic("future: promise completed twice");
    f->done = true;
    f->err = err;
    f->value = value;
    done_fn cb = f->cb;
    spin_unlock(&f->lock);
    if (cb) {
        cb(f->cb_arg, err, value);
        free(f);
    }
}

/* Consumes f: cb runs (in the completer's context, on whatever core) once f has completed. */
static void attach(struct ebb_future *f, done_fn cb, void *arg)
{
    spin_lock(&f->lock);
    if (f->cb)
        ebb_panic("future: consumed twice");
    f->cb = cb;
    f->cb_arg = arg;
    bool done = f->done;
    spin_unlock(&f->lock);
    if (done) {
        cb(arg, f->err, f->value);
        free(f);
    }
}

ebb_future_t ebb_promise_new(ebb_promise_t *p)
{
    *p = fut_new();
    return *p;
}

void ebb_promise_set(ebb_promise_t p, uint64_t value) { complete(p, 0, value); }

void ebb_promise_fail(ebb_promise_t p, int err)
{
    complete(p, err > 0 ? err : EINVAL, 0);
}

ebb_future_t ebb_future_ready(uint64_t value)
{
    struct ebb_future *f = fut_new();
    f->done = true;
    f->value = value;
    return f;
}

ebb_future_t ebb_future_failed(int err)
{
    struct ebb_future *f = fut_new();
    f->done = true;
    f->err = err > 0 ? err : EINVAL;
    return f;
}

/* ---- then ---- */

struct then {
    ebb_then_fn fn;
    ebb_then_full_fn full;
    void *arg;
    ebb_promise_t out;
    unsigned core;
    int err;
    uint64_t value;
};

static void forward(void *arg, int err, uint64_t value)
{
    complete(arg, err, value);
}

static void then_event(void *arg)
{
    struct then *t = arg;
    ebb_promise_t out = t->out;
    if (!t->full && t->err) {
        complete(out, t->err, 0);
    } else {
        ebb_future_t r = t->full ? t->full(t->arg, t->err, t->value) : t->fn(t->arg, t->value);
        if (r)
            attach(r, forward, out);
        else
            complete(out, EINVAL, 0);
    }
    free(t);
}

static void then_done(void *arg, int err, uint64_t value)
{
    struct then *t = arg;
    t->err = err;
    t->value = value;
    ebb_spawn_on(t->core, then_event, t);
}

static ebb_future_t then_common(ebb_future_t f, ebb_then_fn fn, ebb_then_full_fn full, void *arg)
{
    struct then *t = xmalloc(sizeof *t);
    *t = (struct then){ .fn = fn, .full = full, .arg = arg, .core = ebb_core() };
    if (t->core >= ebb_ncores())
        ebb_panic("future: then outside a core");
    ebb_future_t out = ebb_promise_new(&t->out);
    attach(f, then_done, t);
    return out;
}

ebb_future_t ebb_future_then(ebb_future_t f, ebb_then_fn fn, void *arg)
{
    return then_common(f, fn, NULL, arg);
}

ebb_future_t ebb_future_then_full(ebb_future_t f, ebb_then_full_fn fn, void *arg)
{
    return then_common(f, NULL, fn, arg);
}

/* ---- when_all ---- */

struct all {
    size_t left;
    size_t first_failed;
    int err;
    int lock;
    uint64_t *values;
    ebb_promise_t out;
};

struct all_slot {
    struct all *a;
    size_t i;
};

static void all_done(void *arg, int err, uint64_t value)
{
    struct all_slot *s = arg;
    struct all *a = s->a;
    size_t i = s->i;
    free(s);
    spin_lock(&a->lock);
    if (a->values)
        a->values[i] = value;
    if (err && i < a->first_failed) {
        a->first_failed = i;
        a->err = err;
    }
    bool last = --a->left == 0;
    spin_unlock(&a->lock);
    if (last) {
        complete(a->out, a->err, 0);
        free(a);
    }
}

ebb_future_t ebb_future_when_all(ebb_future_t *fs, size_t n, uint64_t *values)
{
    if (n == 0)
        return ebb_future_ready(0);
    struct all *a = xmalloc(sizeof *a);
    *a = (struct all){ .left = n, .first_failed = n, .values = values };
    ebb_future_t out = ebb_promise_new(&a->out);
    for (size_t i = 0; i < n; i++) {
        struct all_slot *s = xmalloc(sizeof *s);
        *s = (struct all_slot){ a, i };
        attach(fs[i], all_done, s);
    }
    return out;
}

/* ---- block, try, drop ---- */

struct blocker {
    struct ebb_context ctx;
    int done;
    int err;
    uint64_t value;
    bool parked;
};

static void block_done(void *arg, int err, uint64_t value)
{
    struct blocker *b = arg;
    b->err = err;
    b->value = value;
    if (b->parked)
        ebb_context_activate(&b->ctx);
    else
        __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
}

int ebb_future_block(ebb_future_t f, uint64_t *value)
{
    int err;
    uint64_t v;
    if (ebb_future_try(f, &err, &v)) {
        if (value)
            *value = v;
        return err;
    }
    struct blocker b = { .parked = ebb_in_event_loop(), .ctx.core = ebb_core() };
    attach(f, block_done, &b);
    if (b.parked)
        /* The activation is an event on this core: it cannot run before the save is done. */
        ebb_context_save(&b.ctx);
    else
        while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
            ebb_cpu_relax();
    if (value)
        *value = b.value;
    return b.err;
}

int ebb_future_try(ebb_future_t f, int *err, uint64_t *value)
{
    spin_lock(&f->lock);
    bool done = f->done;
    spin_unlock(&f->lock);
    if (!done)
        return 0;
    *err = f->err;
    *value = f->value;
    free(f);
    return 1;
}

static void drop_done(void *arg, int err, uint64_t value)
{
    (void)arg, (void)err, (void)value;
}

void ebb_future_drop(ebb_future_t f) { attach(f, drop_done, NULL); }
