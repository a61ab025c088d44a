/* The offload example's native node: joins the cluster and serves the primes Ebb. */
#include <stdio.h>
#include "core/event.h"
#include "core/messenger.h"

static void start(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
}

void app_main(void)
{
    if (ebb_node() == 0) {
        printf("offload: this is a node's image; run the front end: build/hosted/offload nodes=N\n");
        ebb_exit(2);
        return;
    }
    ebb_spawn(start, NULL);
}
