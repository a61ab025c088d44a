/* RCU grace periods by visiting every core: an event that reaches a core runs after the event
 * that core was running, so once it has been everywhere no reader from before remains. Events
 * are non-preemptive, so a reader needs no marking: it only must not keep a pointer across
 * events (or across a blocking call). */
#include <stdlib.h>
#include "core/ebb.h"
#include "core/event.h"
#include "core/rcu.h"

struct rcu_hop {
    ebb_fn each, fn;
    void *arg;
    unsigned start, left;
};

static void rcu_hop(void *arg)
{
    struct rcu_hop *h = arg;
    if (h->left == 0) { /* back home after visiting every other core */
        h->fn(h->arg);
        free(h);
        return;
    }
    if (h->each)
        h->each(h->arg);
    h->left--;
    ebb_spawn_on(h->left == 0 ? h->start : (ebb_core() + 1) % ebb_ncores(), rcu_hop, h);
}

void ebb_rcu_defer(ebb_fn fn, void *arg) { ebb_rcu_each(NULL, fn, arg); }

void ebb_rcu_each(ebb_fn each, ebb_fn fn, void *arg)
{
    struct rcu_hop *h = malloc(sizeof *h);
    if (!h)
        ebb_panic("rcu: out of memory for an RCU callback");
    if (each)
        each(arg);
    h->each = each;
    h->fn = fn;
    h->arg = arg;
    h->start = ebb_core();
    unsigned n = ebb_ncores();
    /* n == 1: one later event here is the grace period. Otherwise visit the n-1 others. */
    h->left = n > 1 ? n - 1 : 0;
    ebb_spawn_on(n > 1 ? (h->start + 1) % n : h->start, rcu_hop, h);
}
