/* The native per-core translation tables: every core sees its own table at the same address
 * (its %gs base) and ebb_core() at the same virtual address, backed by different memory, with
 * slots up to the last id of the space (demand-paged). */
#include <stdint.h>
#include "core/ebb.h"
#include "core/event.h"
#include "tap.h"

#define SLOT EBB_ID(EBB_MAX_NODES - 1, EBB_MAX_INDEX - 2) /* an id no one binds in this test */
#define TOP  EBB_ID(EBB_MAX_NODES - 1, EBB_MAX_INDEX - 1) /* the last id of the space */

static unsigned core_seen[2];
static void *top_rep[2];
static int done;

struct top_rep { const void *ops; unsigned built_on; };
static struct top_rep reps[2];
static void *top_create(struct ebb_root *root, unsigned core)
{
    (void)root;
    reps[core].built_on = core;
    return &reps[core];
}
static struct ebb_root top_root = { .name = "top", .kind = EBB_PER_CORE, .create_rep = top_create };

static void probe(void *arg)
{
    unsigned c = (unsigned)(uintptr_t)arg;
    core_seen[c] = ebb_core();
    EBB_LTT[ebb_slot(SLOT)] = (void *)(uintptr_t)(0xA0 + c);
    top_rep[c] = ebb_rep(TOP, 0);
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
}

static void check(void *arg);
static void readback(void *arg)
{
    unsigned c = (unsigned)(uintptr_t)arg;
    ok(EBB_LTT[ebb_slot(SLOT)] == (void *)(uintptr_t)(0xA0 + c), "core %u reads back its own value of slot %#x",
       c, SLOT);
    EBB_LTT[ebb_slot(SLOT)] = NULL;
    if (__atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST) == 4)
        ebb_spawn_on(0, check, NULL);
}

static void check(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < 2) {
        ebb_spawn(check, NULL);
        return;
    }
    if (done == 2) {
        ok(core_seen[0] == 0 && core_seen[1] == 1, "ebb_core() is 0 and 1 on the two cores");
        ok(top_rep[0] == &reps[0] && top_rep[1] == &reps[1] && reps[1].built_on == 1,
           "the last id of the space (%#x), bound per core, gives each core its own rep", TOP);
        ebb_spawn_on(0, readback, (void *)0);
        ebb_spawn_on(1, readback, (void *)1);
        return;
    }
    ebb_exit(tap_done());
}

void app_main(void)
{
    tap_plan(4);
    ebb_bind(TOP, &top_root);
    ebb_spawn_on(0, probe, (void *)0);
    ebb_spawn_on(1, probe, (void *)1);
    ebb_spawn(check, NULL);
}
