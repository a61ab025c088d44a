/* Futures, promises and contexts blocked on futures. */
#include "core/context.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/future.h"
#include "tap.h"
#include <errno.h>
#include <stdlib.h>

static unsigned cont_core = 99;
static ebb_future_t add1(void *arg, uint64_t v) { (void)arg; cont_core = ebb_core(); return ebb_future_ready(v + 1); }
static ebb_future_t times10(void *arg, uint64_t v) { (void)arg; return ebb_future_ready(v * 10); }
static int skipped_ran;
static ebb_future_t must_skip(void *arg, uint64_t v) { (void)arg, (void)v; skipped_ran++; return ebb_future_ready(0); }
static int seen_err;
static ebb_future_t recover(void *arg, int err, uint64_t v) { (void)arg, (void)v; seen_err = err; return ebb_future_ready(7); }

struct delayed {
    struct ebb_timer t;
    ebb_promise_t p;
    uint64_t v;
    int err;
};
static void fire(void *arg)
{
    struct delayed *d = arg;
    if (d->err)
        ebb_promise_fail(d->p, d->err);
    else
        ebb_promise_set(d->p, d->v);
    free(d);
}
/* Fulfils p with v (or fails it with err) on `core` after ms milliseconds. */
static void arm(void *arg) { struct delayed *d = arg; ebb_timer_start(&d->t, d->t.deadline_ns, fire, d); }
static ebb_future_t later(unsigned core, unsigned ms, uint64_t v, int err)
{
    struct delayed *d = calloc(1, sizeof *d);
    ebb_future_t f = ebb_promise_new(&d->p);
    d->v = v;
    d->err = err;
    d->t.deadline_ns = (uint64_t)ms * 1000000; /* carries the delay to arm() */
    ebb_spawn_on(core, arm, d);
    return f;
}

/* Many contexts blocked at once, each checking its own stack afterwards. */
#define NBLOCK 50
static int resumed_ok, resumed;
static void blocker(void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    volatile uint64_t pattern[64];
    for (int k = 0; k < 64; k++)
        pattern[k] = i * 1000003u + (unsigned)k;
    unsigned core = ebb_core();
    uint64_t v;
    int err = ebb_future_block(later(1, NBLOCK - i, i, 0), &v);
    int good = err == 0 && v == i && ebb_core() == core;
    for (int k = 0; k < 64; k++)
        good &= pattern[k] == i * 1000003u + (unsigned)k;
    resumed_ok += good;
    resumed++;
}

static void tests(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    int err;

    err = ebb_future_block(ebb_future_then(ebb_future_then(ebb_future_ready(1), add1, NULL), times10, NULL), &v);
    ok(err == 0 && v == 20, "ready(1) then +1 then *10 gives 20 (got %d, %llu)", err, (unsigned long long)v);
    is(cont_core, 0, "continuations run on the core that attached them");

    ebb_future_t f = ebb_future_failed(EIO);
    f = ebb_future_then(f, must_skip, NULL);
    f = ebb_future_then(f, must_skip, NULL);
    f = ebb_future_then_full(f, recover, NULL);
    f = ebb_future_then(f, add1, NULL);
    err = ebb_future_block(f, &v);
    ok(skipped_ran == 0 && seen_err == EIO, "an error skips plain continuations and reaches the first that looks");
    ok(err == 0 && v == 8, "the handler's value flows on (got %d, %llu)", err, (unsigned long long)v);

    err = ebb_future_block(ebb_future_then(later(1, 5, 3, EPIPE), add1, NULL), &v);
    is(err, EPIPE, "a promise failed on another core fails the chain with its code");

    uint64_t t0 = ebb_now_ns();
    err = ebb_future_block(later(1, 20, 42, 0), &v);
    ok(err == 0 && v == 42 && ebb_now_ns() - t0 >= 20000000, "block waits for a promise set on another core");
    is(ebb_core(), 0, "the blocked context resumed on its own core");

    ebb_future_t fs[3] = { later(1, 15, 100, 0), later(0, 5, 200, 0), later(1, 10, 300, 0) };
    uint64_t vals[3] = { 0 };
    err = ebb_future_block(ebb_future_when_all(fs, 3, vals), NULL);
    ok(err == 0 && vals[0] == 100 && vals[1] == 200 && vals[2] == 300, "when_all gathers every value in order");

    ebb_future_t gs[3] = { later(1, 5, 1, 0), later(0, 10, 0, ENOENT), later(1, 1, 0, EACCES) };
    err = ebb_future_block(ebb_future_when_all(gs, 3, NULL), NULL);
    is(err, ENOENT, "when_all fails with the error of the lowest-index failed input");

    int e2;
    ebb_future_t r = ebb_future_ready(5);
    ok(ebb_future_try(r, &e2, &v) && v == 5, "try takes a ready future");
    ebb_future_drop(later(1, 1, 9, 0));

    for (unsigned i = 0; i < NBLOCK; i++)
        ebb_spawn(blocker, (void *)(uintptr_t)i);
    while (resumed < NBLOCK)
        ebb_future_block(later(0, 5, 0, 0), NULL);
    is(resumed_ok, NBLOCK, "%d contexts blocked at once all resume with their stacks intact", NBLOCK);
    ebb_exit(tap_done());
}

void app_main(void) { ebb_spawn(tests, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
    tap_plan(11);
#ifdef EBB_HOSTED
    tap_deadline(120);
#endif
    char *args[] = { argv[0], "cores=2", NULL };
    return ebb_run(2, args);
}
