/* The image's network from its configuration, on a platform that has no network interface of
 * its own yet: a clear error. Platforms that have one (hosted: platform/hosted/net_config.c)
 * provide the real net_start_from_config(), which overrides this weak one. */
#include <errno.h>
#include <stdio.h>
#include "net/net.h"

__attribute__((weak)) ebb_future_t net_start_from_config(void)
{
    printf("net: this platform has no network interface yet\n");
    return ebb_future_failed(ENODEV);
}
