/* The native vmem window across cores: a page that core 1 touched and core 0 then unmapped is
 * never seen again by core 1 (its TLB is flushed before the page is reused), and the unmapped
 * pages return to the page allocator once every core has flushed. */
#include <stdint.h>
#include "core/ebb.h"
#include "core/event.h"
#include "ebb_native.h"
#include "mem/vmem.h"
#include "tap.h"

static struct vmem_region r;
static uintptr_t first_start;
static int step;
static void next(void *arg);
static void back_to_0(void *arg) { ebb_spawn_on(0, next, arg); }

static void touch(void *arg)
{
    (void)arg;
    volatile unsigned char *p = (void *)r.start;
    for (int i = 0; i < 8; i++)
        p[i * 4096] = 0x55;
    ok(p[0] == 0x55 && p[7 * 4096] == 0x55, "core 1 writes 8 demand-zero pages");
    ebb_spawn_on(0, next, NULL);
}

static void look(void *arg)
{
    (void)arg;
    volatile unsigned char *p = (void *)r.start;
    int zero = 1;
    for (int i = 0; i < 8; i++)
        zero &= p[i * 4096] == 0;
    ok(zero, "after core 0 unmapped and remapped the range, core 1 sees fresh zero pages");
    ebb_spawn_on(0, next, NULL);
}

static void next(void *arg)
{
    (void)arg;
    switch (step++) {
    case 0:
        is(vmem_reserve(&r, 8 * 4096, 0, vmem_fault_zero, NULL), 0, "reserve 8 pages, mapped on touch");
        first_start = r.start;
        ebb_spawn_on(1, touch, NULL);
        break;
    case 1:
        vmem_release(&r);
        is(vmem_reserve(&r, 8 * 4096, 0, vmem_fault_zero, NULL), 0, "reserve again");
        ok(r.start == first_start, "the same addresses are reused");
        ebb_spawn_on(1, look, NULL);
        break;
    case 2:
        vmem_release(&r);
        /* Core 1 flushes as soon as the wake-up reaches it: how many still wait is a race. */
        diag("pages waiting for core 1's flush: %zu", ebb_native_vm_pending_pages());
        ebb_spawn_on(1, next, NULL); /* one more pass on each core: both have flushed */
        break;
    case 3: { /* core 1 goes idle a moment: its loop flushes between events */
        static struct ebb_timer t;
        ebb_timer_start(&t, 10000000, back_to_0, NULL);
        break;
    }
    case 4: {
        struct vmem_region t; /* an unmap runs the reclaim */
        vmem_reserve(&t, 4096, 0, NULL, NULL);
        vmem_release(&t);
        is(ebb_native_vm_pending_pages(), 0, "once both cores flushed, the unmapped pages are free again");
        ebb_exit(tap_done());
        break;
    }
    }
}

void app_main(void)
{
    tap_plan(6);
    ebb_spawn(next, NULL);
}
