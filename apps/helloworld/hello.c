/* helloworld: every core calls a per-core Ebb; the rep serving the call says which core it
 * belongs to. The last core to answer ends the program. */
#include "apps/helloworld/hello.gen.h" /* generated from hello.ebb.h */
#include "core/ebb.h"
#include "core/event.h"
#include <stdio.h>
#include <stdlib.h>

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

/* A per-core root (the kind hello.ebb.h names); the manifest binds it to EBB_ID_HELLO. */
HELLO_ROOT(hello_root, create_rep);

static void greet(void *arg)
{
    (void)arg;
    hello_say(EBB_ID_HELLO);
}

void app_main(void)
{
    for (unsigned c = 0; c < ebb_ncores(); c++)
        ebb_spawn_on(c, greet, NULL);
}
