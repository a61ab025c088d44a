/* Runs libFuzzer inside the hosted runtime: main() starts one core, app_main spawns an event
 * that calls libFuzzer's driver, and every input then runs in that event, where it may block
 * (fuzz_settle) while the loop runs the events and timers the input caused. The clock is this
 * process's own (linked with --wrap=platform_now_ns,--wrap=platform_wait) so that timers are
 * driven by the input, never by waiting. */
#include "tests/fuzz/harness.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/future.h"
#include "ebb_hosted.h"
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *data, size_t size));

/* Virtual time: the clock is the real one plus a skew, and where the loop would sleep until a
 * timer (a method blocked on one) the skew jumps there instead. */
uint64_t __real_platform_now_ns(void);
static uint64_t skew_ns;
uint64_t __wrap_platform_now_ns(void) { return __real_platform_now_ns() + skew_ns; }
void fuzz_advance_ns(uint64_t ns) { skew_ns += ns; }

void __wrap_platform_wait(uint64_t deadline_ns)
{
    if (deadline_ns == UINT64_MAX) {
        fprintf(stderr, "fuzz: the loop would sleep forever (an input blocked on nothing)\n");
        abort();
    }
    uint64_t now = __wrap_platform_now_ns();
    if (deadline_ns > now)
        skew_ns += deadline_ns - now;
}

static void settle_ev(void *arg) { ebb_promise_set(*(ebb_promise_t *)arg, 0); }

void fuzz_settle(void)
{
    /* Events run in order: what the input spawned runs before ours; a few rounds let what
     * those spawn run too. */
    for (int i = 0; i < 4; i++) {
        ebb_promise_t p;
        ebb_future_t f = ebb_promise_new(&p);
        ebb_spawn(settle_ev, &p);
        ebb_future_block(f, NULL);
    }
}

static int fz_argc;
static char **fz_argv;

static int one(const uint8_t *data, size_t n) { return fuzz_one(data, n); }

static void driver(void *arg)
{
    (void)arg;
    fuzz_init();
    ebb_exit(LLVMFuzzerRunDriver(&fz_argc, &fz_argv, one));
}

void app_main(void) { ebb_spawn(driver, NULL); }

int main(int argc, char **argv)
{
    fz_argc = argc;
    fz_argv = argv;
    char *args[] = {argv[0], "cores=1", NULL};
    return ebb_run(2, args);
}
