/* cluster_hello's front end, a Linux process:
 *
 *   build/hosted/cluster_hello nodes=N [node_cores=C] [node_memory=MB] [node_numa=LIST]
 *                              [image=PATH]
 *
 * allocates N native nodes (the image built with it, build/native/cluster_hello.elf) through the
 * NodeAllocator, waits for a hello from each core of each, frees them and exits 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apps/cluster_hello/cluster_hello.h"
#include "core/config.h"
#include "core/event.h"
#include "core/messenger.h"
#include "ebbs/node_allocator.gen.h"

#define MAX_NODES 64

static void timed_out(void *arg)
{
    (void)arg;
    fprintf(stderr, "cluster_hello: not every core of every node said hello in time (timeout_ms)\n");
    ebb_exit(1); /* the NodeAllocator stops the nodes on exit */
}

static void front(void *arg)
{
    (void)arg;
    unsigned n = (unsigned)ebb_config_int("nodes", 1, 1, MAX_NODES);
    unsigned cores = (unsigned)ebb_config_int("node_cores", 1, 1, 8);
    unsigned mb = (unsigned)ebb_config_int("node_memory", 64, 16, 4096);
    long timeout = ebb_config_int("timeout_ms", 120000, 1, 3600000);
    struct node_options opt = { .image = ebb_config_str("image", "cluster_hello"), .cores = cores,
                                .memory_mb = mb, .numa = ebb_config_get("node_numa") };
    ebb_future_t all_said = printer_expect(n * cores);
    /* Before any node asks the GlobalIdMap where the printer lives. */
    int err = printer_publish();
    if (err) {
        fprintf(stderr, "cluster_hello: cannot register the printer in the GlobalIdMap: %s\n", strerror(err));
        ebb_exit(1);
        return;
    }
    ebb_future_t fs[MAX_NODES];
    uint64_t ids[MAX_NODES];
    for (unsigned i = 0; i < n; i++)
        fs[i] = node_allocator_allocate(EBB_ID_NODE_ALLOCATOR, &opt);
    err = ebb_future_block(ebb_future_when_all(fs, n, ids), NULL);
    if (err) {
        fprintf(stderr, "cluster_hello: a node did not come up: %s\n", strerror(err));
        ebb_exit(1);
        return;
    }
    /* Every node is up; each of their cores says hello through the printer. */
    static struct ebb_timer t;
    ebb_timer_start(&t, (uint64_t)timeout * 1000000ull, timed_out, NULL);
    uint64_t v;
    err = ebb_future_block(all_said, &v);
    ebb_timer_cancel(&t);
    for (unsigned i = 0; i < n; i++)
        node_allocator_free(EBB_ID_NODE_ALLOCATOR, (unsigned)ids[i]);
    ebb_exit(err ? 1 : 0);
}

void app_main(void) { ebb_spawn(front, NULL); }
