/* cluster_hello's native node: joins the cluster the front end's NodeAllocator booted it into
 * (node=, cluster=, key_file= on its command line), then each of its cores calls the printer. */
#include <stdio.h>
#include "apps/cluster_hello/cluster_hello.h"
#include "core/event.h"
#include "core/messenger.h"

static void say(void *arg)
{
    (void)arg;
    int32_t r = printer_hello(EBB_ID_PRINTER, ebb_node(), ebb_core());
    if (r < 0)
        printf("cluster_hello: node %u core %u: the printer failed: %d\n", ebb_node(), ebb_core(), r);
}

static void start(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0) {
        ebb_exit(2);
        return;
    }
    for (unsigned c = 0; c < ebb_ncores(); c++)
        ebb_spawn_on(c, say, NULL);
}

void app_main(void)
{
    if (ebb_node() == 0) {
        printf("cluster_hello: this is a node's image; run the front end: build/hosted/cluster_hello nodes=N\n");
        ebb_exit(2);
        return;
    }
    ebb_spawn(start, NULL);
}
