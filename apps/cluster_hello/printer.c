/* The printer Ebb of cluster_hello, on both sides. Its root builds, on each core that calls it,
 * either the real rep (on the node the printer lives on, the front end) or one that forwards the
 * call there through the Messenger. Where it lives: the id's own node (a static id of node 0's
 * space is the front end's). */
#include <stdio.h>
#include <stdlib.h>
#include "apps/cluster_hello/cluster_hello.h"
#include "core/event.h"
#include "core/messenger.h"

static unsigned hellos;
static ebb_promise_t hellos_done;
static unsigned hellos_want;

struct printer_rep {
    const struct printer *ops;
    unsigned home; /* the node the printer lives on (forwarding reps) */
};

static int32_t print_hello(void *self, uint32_t node, uint32_t core)
{
    (void)self;
    printf("hello from node %u core %u\n", node, core);
    fflush(stdout);
    /* Reps on different cores may count at once. */
    if (__atomic_add_fetch(&hellos, 1, __ATOMIC_ACQ_REL) == hellos_want && hellos_want)
        ebb_promise_set(hellos_done, hellos_want);
    return 0;
}

static int32_t forward_hello(void *self, uint32_t node, uint32_t core)
{
    struct printer_rep *r = self;
    uint64_t v;
    int err = ebb_future_block(printer_hello_at(r->home, EBB_ID_PRINTER, node, core), &v);
    return err ? -err : (int32_t)v;
}

static const struct printer printer_ops = { print_hello };
static const struct printer forward_ops = { forward_hello };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    struct printer_rep *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->home = EBB_ID_NODE(EBB_ID_PRINTER);
    r->ops = r->home == ebb_node() ? &printer_ops : &forward_ops;
    return r;
}
PRINTER_ROOT(printer_root, create_rep);

ebb_future_t printer_expect(unsigned n)
{
    ebb_future_t f = ebb_promise_new(&hellos_done);
    hellos_want = n;
    return f;
}
