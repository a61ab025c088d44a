/* The front end's unix-socket switch (platform/hosted/switch.c) on its own, for baselines: VMs
 * that are not this project's nodes (two Linux VMs in make bench-cluster) on the same switch.
 *   vswitch PATH     serves PATH until killed; prints "vswitch: ready" once it listens */
#include <stdio.h>
#include <string.h>
#include "core/config.h"
#include "core/event.h"
#include "net_hosted.h"

static void start(void *arg)
{
    (void)arg;
    static const uint8_t mac[6] = {2, 0xeb, 0xff, 0, 0, 1}; /* the unused local port's */
    ebb_id_t id;
    int err;
    const char *path = ebb_config_get("path");
    if (!path || !eth_switch_new(path, mac, &id, &err)) {
        fprintf(stderr, "vswitch: path=%s: %s\n", path ? path : "(none)", path ? strerror(-err) : "needed");
        ebb_exit(2);
        return;
    }
    printf("vswitch: ready\n");
    fflush(stdout);
}

void app_main(void) { ebb_spawn(start, NULL); }
