/* The stack's keys of the image configuration, the same on every platform, and the fallback
 * for a platform that has no network interface: a clear error. Platforms that have one
 * (platform/hosted/net_config.c, platform/native/virtio_net.c) provide the real
 * net_start_from_config(), which overrides the weak one here. */
#include <errno.h>
#include <stdio.h>
#include "core/config.h"
#include "core/event.h"
#include "net/net.h"
#include "net/stack.h"

int net_config_read(struct net_stack_config *cfg)
{
    *cfg = (struct net_stack_config){.home_core = ebb_core()};
    const char *ip = ebb_config_get("ip"), *gw = ebb_config_get("gw");
    if (ip && ip4_parse_cidr(ip, &cfg->ip, &cfg->prefix)) {
        fprintf(stderr, "net: ip=%s: expected A.B.C.D/N\n", ip);
        return -EINVAL;
    }
    if (gw && (!ip || ip4_parse(gw, &cfg->gw))) {
        fprintf(stderr, "net: gw=%s: expected A.B.C.D, with ip=\n", gw);
        return -EINVAL;
    }
    cfg->rto_min_ms = (unsigned)ebb_config_int("rto_min_ms", 200, 1, 60000);
    cfg->sack = ebb_config_int("sack", 0, 0, 1);
    return 0;
}

__attribute__((weak)) ebb_future_t net_start_from_config(void)
{
    printf("net: this platform has no network interface yet\n");
    return ebb_future_failed(ENODEV);
}
