/* The image's network from its configuration: netif=tap:NAME [ip=A.B.C.D/N [gw=G]] (no ip=:
 * DHCP), or netif=linux (the default) whose listeners bind to ip=A.B.C.D (default 127.0.0.1:
 * loopback only; 0.0.0.0 for every address). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/config.h"
#include "core/event.h"
#include "net/stack.h"
#include "net_hosted.h"

static struct net_stack *config_stack;

struct net_stack *net_config_stack(void) { return config_stack; }

ebb_future_t net_start_from_config(void)
{
    const char *netif = ebb_config_str("netif", "linux");
    if (strcmp(netif, "linux") == 0) {
        const char *lip = ebb_config_str("ip", "127.0.0.1");
        ip4_t a;
        if (ip4_parse(lip, &a)) {
            fprintf(stderr, "net: ip=%s: expected A.B.C.D (netif=linux)\n", lip);
            return ebb_future_failed(EINVAL);
        }
        return ebb_future_ready((uint64_t)(uintptr_t)net_linux_new(a));
    }
    if (strncmp(netif, "tap:", 4) != 0) {
        fprintf(stderr, "net: netif=%s: expected tap:NAME or linux\n", netif);
        return ebb_future_failed(EINVAL);
    }
    struct net_stack_config cfg = {.home_core = ebb_core()};
    const char *ip = ebb_config_get("ip"), *gw = ebb_config_get("gw");
    if (ip && ip4_parse_cidr(ip, &cfg.ip, &cfg.prefix)) {
        fprintf(stderr, "net: ip=%s: expected A.B.C.D/N\n", ip);
        return ebb_future_failed(EINVAL);
    }
    if (gw && (!ip || ip4_parse(gw, &cfg.gw))) {
        fprintf(stderr, "net: gw=%s: expected A.B.C.D, with ip=\n", gw);
        return ebb_future_failed(EINVAL);
    }
    cfg.rto_min_ms = (unsigned)ebb_config_int("rto_min_ms", 200, 1, 60000);
    cfg.sack = ebb_config_int("sack", 0, 0, 1);
    ebb_id_t id;
    int err = netif_tap_open(netif + 4, &id);
    if (err)
        return ebb_future_failed(-err);
    config_stack = net_stack_new(id, &cfg);
    if (!config_stack)
        return ebb_future_failed(ENOMEM);
    return net_stack_up(config_stack);
}
