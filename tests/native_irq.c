/* Native device-interrupt plumbing: a bound vector runs its handler as an event on the core the
 * interrupt reached, bursts coalesce, and MSI messages / MMIO mappings look right. */
#include <stdint.h>
#include "core/ebb.h"
#include "core/event.h"
#include "ebb_native.h"
#include "tap.h"

static unsigned vec;
static int runs[2];
static int wrong_core;
static unsigned expect_core;

static void handler(void *arg)
{
    (void)arg;
    if (ebb_core() != expect_core)
        wrong_core++;
    runs[ebb_core()]++;
}

static struct ebb_timer t;
static int step;
static void next(void *arg);

/* Waits for a condition, polling each millisecond, up to 5 s: a loaded host can delay an IPI
 * under TCG far beyond any fixed sleep. */
static int (*cond)(void);
static uint64_t give_up;
static void poll_cond(void *arg)
{
    (void)arg;
    if (cond() || ebb_now_ns() > give_up)
        next(NULL);
    else
        ebb_timer_start(&t, 1000000, poll_cond, NULL);
}
static void wait_for(int (*c)(void))
{
    cond = c;
    give_up = ebb_now_ns() + 5000000000ull;
    ebb_timer_start(&t, 1000000, poll_cond, NULL);
}
static int core1_ran(void) { return runs[1] >= 1; }
static int core0_ran(void) { return runs[0] >= 1; }
static int burst_ran(void) { return runs[1] >= 2; }

static void send_burst(void *arg)
{
    for (int i = 0; i < 5; i++)
        ebb_native_send_ipi((unsigned)(uintptr_t)arg, vec);
}

static void next(void *arg)
{
    (void)arg;
    switch (step++) {
    case 0:
        vec = ebb_native_irq_bind(handler, NULL);
        ok(vec >= 0x30 && vec < 0xF0, "a free vector is bound (%#x)", vec);
        expect_core = 1;
        ebb_native_send_ipi(1, vec);
        wait_for(core1_ran);
        break;
    case 1:
        is(runs[1], 1, "an interrupt sent to core 1 ran the handler once, as an event there");
        is(wrong_core, 0, "never on another core");
        expect_core = 0;
        ebb_native_send_ipi(0, vec); /* to itself: taken when this event is over */
        is(runs[0], 0, "an interrupt never cuts into a running event");
        wait_for(core0_ran);
        break;
    case 2:
        is(runs[0], 1, "a self-interrupt ran the handler after the event");
        expect_core = 1;
        ebb_spawn_on(0, send_burst, (void *)1);
        wait_for(burst_ran);
        break;
    case 3:
        ok(runs[1] >= 2 && runs[1] <= 6, "a burst of 5 ran the handler 1 to 5 times (%d)", runs[1] - 1);
        is(wrong_core, 0, "all on core 1");
        ebb_native_irq_unbind(vec);
        is(ebb_native_irq_bind(handler, NULL), vec, "an unbound vector is handed out again");
        ok((ebb_native_msi_address(0) & 0xFFF00000u) == 0xFEE00000u && ebb_native_msi_data(vec) == vec,
           "MSI address and data");
        volatile uint32_t *mmio = ebb_native_map_mmio(0x1000000000ull, 4096);
        /* Unassigned in QEMU: the read reaches the bus (a page fault would stop the test). */
        uint32_t v = mmio[0];
        ok(mmio == (void *)0x1000000000ull, "MMIO above 4 GiB is mapped at its address and reads (%#x)", v);
        ebb_exit(tap_done());
        break;
    }
}

void app_main(void)
{
    tap_plan(10);
    ebb_spawn(next, NULL);
}
