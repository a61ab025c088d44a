/* The cluster test's Ebb, the same on every node (tests/cluster/ctest.ebb.h). */
#include <stdlib.h>
#include "core/event.h"
#include "core/future.h"
#include "tests/cluster/ctest.gen.h"

static uint64_t t_echo(void *self, uint64_t x) { (void)self; return x + 1000ull * ebb_node(); }

static uint64_t t_relay(void *self, uint32_t target, uint64_t x)
{
    (void)self;
    uint64_t v;
    int err = ebb_future_block(ctest_echo_at(target, EBB_ID_CTEST, x), &v);
    return err ? 1ull << 63 | (uint64_t)err : v;
}

struct nap {
    ebb_promise_t p;
    struct ebb_timer t;
};

static void wake(void *arg)
{
    struct nap *n = arg;
    ebb_promise_set(n->p, 0);
    free(n);
}

static uint64_t t_sleep(void *self, uint64_t ms)
{
    (void)self;
    struct nap *n = calloc(1, sizeof *n);
    if (!n)
        return 1;
    ebb_future_t f = ebb_promise_new(&n->p);
    ebb_timer_start(&n->t, ms * 1000000ull, wake, n);
    uint64_t v;
    ebb_future_block(f, &v);
    return ms;
}

static const struct ctest ctest_ops = { t_echo, t_relay, t_sleep };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    static struct { const struct ctest *ops; } rep = { &ctest_ops };
    return &rep;
}
CTEST_ROOT(ctest_root, create_rep);
