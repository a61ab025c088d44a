/* rcounter: each node serves a counter Ebb; a node given target=T calls T's counter through the
 * generated stubs (counter_add_at(), ...) and the Messenger, then prints what it got.
 *
 *   rcounter node=0 listen=7000                                 # serves, until stopped
 *   rcounter node=1 peers=0@127.0.0.1:7000 target=0 calls=100 stop=1
 *   rcounter calls=3                                            # one node calling itself
 *
 * Calls to the node's own id go through the same marshalling (that is all a native image can do
 * until the native Messenger has a transport). */
#include "apps/rcounter/counter.gen.h"
#include "core/config.h"
#include "core/event.h"
#include "core/messenger.h"
#include <stdio.h>
#include <stdlib.h>

struct counter_rep {
    const struct counter *ops;
    uint64_t value;
};

static uint64_t c_add(void *self, uint64_t n) { return __atomic_add_fetch(&((struct counter_rep *)self)->value, n, __ATOMIC_RELAXED); }
static uint64_t c_get(void *self) { return __atomic_load_n(&((struct counter_rep *)self)->value, __ATOMIC_RELAXED); }
static size_t c_describe(void *self, char *buf, size_t cap)
{
    (void)self;
    int n = snprintf(buf, cap, "counter of node %u", ebb_node());
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}
static void stop_now(void *code)
{
    ebb_messenger_stop();
    ebb_exit((int)(intptr_t)code);
}
static void c_stop(void *self, int32_t code) { (void)self; ebb_spawn(stop_now, (void *)(intptr_t)code); }
static const struct counter counter_ops = { c_add, c_get, c_describe, c_stop };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    struct counter_rep *r = calloc(1, sizeof *r);
    if (r)
        r->ops = &counter_ops;
    return r;
}
COUNTER_ROOT(counter_root, create_rep); /* per node; the manifest binds it to EBB_ID_COUNTER */

static void run(void *arg)
{
    (void)arg;
    unsigned target = (unsigned)ebb_config_int("target", ebb_node(), 0, EBB_MAX_NODES - 1);
    long calls = ebb_config_int("calls", 0, 0, 1000000000);
    uint64_t v = 0;
    int err = 0;
    for (long i = 0; i < calls && !err; i++)
        err = ebb_future_block(counter_add_at(target, EBB_ID_COUNTER, 1), &v);
    if (!err)
        err = ebb_future_block(counter_get_at(target, EBB_ID_COUNTER), &v);
    char name[64];
    uint64_t len = 0;
    if (!err)
        err = ebb_future_block(counter_describe_at(target, EBB_ID_COUNTER, name, sizeof name), &len);
    if (err) {
        printf("rcounter: call to node %u failed: error %d\n", target, err);
        ebb_exit(1);
        return;
    }
    printf("%s: %llu\n", name, (unsigned long long)v);
    fflush(stdout);
    if (ebb_config_int("stop", 0, 0, 1) && target != ebb_node()) {
        uint64_t dummy;
        ebb_future_block(counter_stop_at(target, EBB_ID_COUNTER, 0), &dummy);
    }
    ebb_messenger_stop();
    ebb_exit(0);
}

void app_main(void)
{
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    if (ebb_config_get("calls") || ebb_config_get("target"))
        ebb_spawn(run, NULL); /* a context that may block on the futures */
}
