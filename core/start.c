/* Start-up, the same on every platform: the configuration, the cores, the application's start,
 * each core's loop from entry to exit. Platforms only bring the machine up to this point (hosted:
 * main(); native: native_kmain() then main()) and supply the hooks of core/platform.h. */
#include <stdio.h>
#include "core/config.h"
#include "core/context.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/platform.h"

/* Weak so that a program with its own main() that never starts the runtime needs none. */
extern void app_main(void) __attribute__((weak));

static void start_app(void *arg)
{
    (void)arg;
    if (!app_main)
        ebb_panic("the program defines no app_main()");
    app_main();
}

void ebb_core_run(unsigned core)
{
    if (core == 0)
        ebb_spawn(start_app, NULL);
    ebb_context_run_loop();
    ebb_event_core_cleanup();
    ebb_context_core_cleanup();
}

int ebb_run(int argc, char **argv)
{
    char err[256];
    if (ebb_config_parse(argc - 1, argv + 1, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    if (ebb_log_configure() < 0)
        return 2;
    unsigned ncores = (unsigned)ebb_config_int("cores", platform_cpus(), 1, platform_cores_max());
    unsigned numa = (unsigned)ebb_config_int("numa", 1, 1, ncores);
    ebb_topology_set(ncores, numa);
    ebb_set_node((unsigned)ebb_config_int("node", 0, 0, EBB_MAX_NODES - 1));
    if (platform_cores_start(ncores) < 0)
        return 1;
    /* Core 0 runs on the calling thread, so a debugger or a signal sees the program's main. */
    ebb_core_run(0);
    platform_cores_join(ncores);
    return ebb_exit_code();
}

/* A program with its own main() (tests, a front end) calls ebb_run() itself. */
__attribute__((weak)) int main(int argc, char **argv) { return ebb_run(argc, argv); }
