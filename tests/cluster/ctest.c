/* The cluster test's Ebb, the same on every node (tests/cluster/ctest.ebb.h). */
#include <errno.h>
#include <stdlib.h>
#include "core/event.h"
#include "core/future.h"
#include "core/platform.h"
#include "tests/cluster/ctest.gen.h"
#include "tests/gidmap_ids.h"

static uint64_t t_echo(void *self, uint64_t x) { (void)self; return x + 1000ull * ebb_node(); }

static uint64_t value_or_err(ebb_future_t f)
{
    uint64_t v;
    int err = ebb_future_block(f, &v);
    return err ? 1ull << 63 | (uint64_t)err : v;
}

static uint64_t t_relay(void *self, uint32_t target, ebb_id_t id, uint64_t x)
{
    (void)self;
    return value_or_err(ctest_echo_at(target, id, x));
}

static uint64_t t_relay_sleep(void *self, uint32_t target, uint64_t ms)
{
    (void)self;
    return value_or_err(ctest_sleep_at(target, EBB_ID_CTEST, ms));
}

static uint64_t t_members(void *self)
{
    (void)self;
    uint32_t nodes[64];
    uint64_t n, bits = 0;
    int err = ebb_future_block(globalidmap_members(EBB_ID_GLOBALIDMAP, nodes, 64), &n);
    if (err)
        return 1ull << 63 | (uint64_t)err;
    for (uint64_t i = 0; i < n; i++) {
        if (i == 64 || nodes[i] >= 63)
            return 1ull << 63 | ERANGE;
        bits |= 1ull << nodes[i];
    }
    return bits;
}

static uint64_t t_ids(void *self, uint32_t space, uint32_t set)
{
    (void)self;
    return space < EBB_MAX_NODES ? gidmap_ids(space, EBB_MAX_INDEX - GIDMAP_NIDS, (int)set) : GIDMAP_NIDS;
}

static uint64_t sleepers;

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
    __atomic_add_fetch(&sleepers, 1, __ATOMIC_RELAXED);
    ebb_future_block(f, &v);
    __atomic_sub_fetch(&sleepers, 1, __ATOMIC_RELAXED);
    return ms;
}

static uint64_t t_sleeping(void *self)
{
    (void)self;
    return __atomic_load_n(&sleepers, __ATOMIC_RELAXED);
}

static uint64_t t_put(void *self, const uint8_t *buf, uint64_t n)
{
    (void)self, (void)buf;
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t ctest_rtt_median(unsigned target, uint64_t calls)
{
    static const uint8_t payload[64];
    uint64_t *t = calloc(calls, sizeof *t), v, med = 0;
    if (!t)
        return 0;
    uint64_t i = 0;
    for (; i < calls; i++) {
        uint64_t t0 = platform_now_ns();
        if (ebb_future_block(ctest_put_at(target, EBB_ID_CTEST, payload, sizeof payload), &v))
            break;
        t[i] = platform_now_ns() - t0;
    }
    if (i == calls) {
        qsort(t, calls, sizeof *t, cmp_u64);
        med = t[calls / 2];
    }
    free(t);
    return med;
}

static uint64_t t_rtt(void *self, uint32_t target, uint64_t calls)
{
    (void)self;
    return calls && calls <= 1000000 ? ctest_rtt_median(target, calls) : 0;
}

static const struct ctest ctest_ops = { t_echo, t_relay, t_relay_sleep, t_members, t_ids, t_sleep,
                                         t_sleeping, t_put, t_rtt };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    static struct { const struct ctest *ops; } rep = { &ctest_ops };
    return &rep;
}
CTEST_ROOT(ctest_root, create_rep);

int ctest_bind_top(void) { return ebb_bind(EBB_ID_CTEST_TOP, &ctest_root); }
