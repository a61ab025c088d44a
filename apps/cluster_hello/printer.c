/* The printer Ebb of cluster_hello, on both sides. The front end says in the GlobalIdMap where
 * the printer lives (printer_publish: its node, 4 bytes little-endian, as the id's data); on each
 * core that calls it, the root's first fault looks that up and builds either the real rep (on
 * that node) or one that forwards the call there through the Messenger. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "apps/cluster_hello/cluster_hello.h"
#include "core/event.h"
#include "core/messenger.h"
#include "ebbs/globalidmap.gen.h"

static unsigned hellos;
static ebb_promise_t hellos_done;
static unsigned hellos_want;

struct printer_rep {
    const struct printer *ops;
    unsigned home; /* the node the printer lives on (forwarding reps) */
    int err;       /* the GlobalIdMap lookup failed: every call fails with it */
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
    if (r->err)
        return -r->err;
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
    uint8_t b[4];
    uint64_t len = 0;
    r->err = ebb_future_block(globalidmap_get(EBB_ID_GLOBALIDMAP, EBB_ID_PRINTER, b, sizeof b), &len);
    if (!r->err && len != sizeof b)
        r->err = EBADMSG;
    r->home = r->err ? 0 : (unsigned)b[0] | (unsigned)b[1] << 8 | (unsigned)b[2] << 16 | (unsigned)b[3] << 24;
    r->ops = !r->err && r->home == ebb_node() ? &printer_ops : &forward_ops;
    return r;
}
PRINTER_ROOT(printer_root, create_rep);

int printer_publish(void)
{
    unsigned n = ebb_node();
    const uint8_t b[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
    return ebb_future_block(globalidmap_set(EBB_ID_GLOBALIDMAP, EBB_ID_PRINTER, b, sizeof b), NULL);
}

ebb_future_t printer_expect(unsigned n)
{
    ebb_future_t f = ebb_promise_new(&hellos_done);
    hellos_want = n;
    return f;
}
