/* helloworld: every core calls a per-core Ebb; the rep serving the call says which core it
 * belongs to. The last core to answer ends the program. */
#include "core/ebb.h"
#include "core/event.h"
#include <stdio.h>
#include <stdlib.h>

/* The interface (a struct of methods whose first parameter is the rep) and its call wrapper. */
struct hello {
    void (*say)(void *self);
};
#define HELLO_IFACE 0x68656c6c6f000001ull

static inline void hello_say(ebb_id_t id)
{
    void *r = ebb_rep(id, HELLO_IFACE);
    EBB_OPS(r, struct hello)->say(r);
}

struct hello_rep {
    const struct hello *ops;
    unsigned core;
};

static unsigned answered;

static void say(void *self)
{
    struct hello_rep *r = self;
    printf("hello from core %u\n", r->core);
    fflush(stdout);
    if (__atomic_add_fetch(&answered, 1, __ATOMIC_SEQ_CST) == ebb_ncores())
        ebb_exit(0);
}

static const struct hello hello_ops = { .say = say };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root;
    struct hello_rep *r = malloc(sizeof *r);
    if (r)
        *r = (struct hello_rep){ &hello_ops, core };
    return r;
}

static struct ebb_root hello_root = {
    .name = "hello", .iface = HELLO_IFACE, .kind = EBB_PER_CORE, .create_rep = create_rep,
};
static ebb_id_t hello_id;

static void greet(void *arg)
{
    (void)arg;
    hello_say(hello_id);
}

void app_main(void)
{
    hello_id = ebb_id_alloc();
    ebb_bind(hello_id, &hello_root);
    for (unsigned c = 0; c < ebb_ncores(); c++)
        ebb_spawn_on(c, greet, NULL);
}
