/* The native per-core window: every core sees its translation table and ebb_core() at the same
 * virtual addresses, backed by different memory. */
#include <stdint.h>
#include "core/ebb.h"
#include "core/event.h"
#include "tap.h"

#define SLOT 4000 /* a dynamic id no one binds in this test */

static void *table_addr[2];
static unsigned core_seen[2];
static int done;

static void probe(void *arg)
{
    unsigned c = (unsigned)(uintptr_t)arg;
    core_seen[c] = ebb_core();
    table_addr[c] = &EBB_LTT[SLOT];
    EBB_LTT[SLOT] = (void *)(uintptr_t)(0xA0 + c);
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
}

static void check(void *arg);
static void readback(void *arg)
{
    unsigned c = (unsigned)(uintptr_t)arg;
    ok(EBB_LTT[SLOT] == (void *)(uintptr_t)(0xA0 + c), "core %u reads back its own slot value", c);
    EBB_LTT[SLOT] = NULL;
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
        ok(table_addr[0] == table_addr[1], "both see the table at the same address (%p)", table_addr[0]);
        ebb_spawn_on(0, readback, (void *)0);
        ebb_spawn_on(1, readback, (void *)1);
        return;
    }
    ebb_exit(tap_done());
}

void app_main(void)
{
    tap_plan(4);
    ebb_spawn_on(0, probe, (void *)0);
    ebb_spawn_on(1, probe, (void *)1);
    ebb_spawn(check, NULL);
}
