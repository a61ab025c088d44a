/* The offload example: a Linux program sends work to native back ends and gathers the results.
 *
 *   build/hosted/offload nodes=N [limit=L] [chunks=K]
 *
 * counts the primes below L (default 1,000,000) in K chunks (default 4 per node), each sent to a
 * node (round robin) as a remote call returning a future; ebb_future_when_all gathers them. It
 * prints the sum and checks it against a count made here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apps/offload/work.gen.h"
#include "core/config.h"
#include "core/event.h"
#include "core/platform.h"
#include "ebbs/node_allocator.gen.h"

#define MAX_NODES 64
#define MAX_CHUNKS 1024

static void front(void *arg)
{
    (void)arg;
    unsigned n = (unsigned)ebb_config_int("nodes", 2, 1, MAX_NODES);
    uint64_t limit = (uint64_t)ebb_config_int("limit", 1000000, 2, 1000000000);
    unsigned chunks = (unsigned)ebb_config_int("chunks", 4 * n, 1, MAX_CHUNKS);
    struct node_options opt = { .image = ebb_config_str("image", "offload"), .cores = 1,
                                .memory_mb = 64 };
    static ebb_future_t fs[MAX_CHUNKS];
    static uint64_t vals[MAX_CHUNKS], nodes[MAX_NODES];
    for (unsigned i = 0; i < n; i++)
        fs[i] = node_allocator_allocate(EBB_ID_NODE_ALLOCATOR, &opt);
    int err = ebb_future_block(ebb_future_when_all(fs, n, nodes), NULL);
    if (err) {
        fprintf(stderr, "offload: a node did not come up: %s\n", strerror(err));
        ebb_exit(1);
        return;
    }
    uint64_t t0 = platform_now_ns();
    for (unsigned c = 0; c < chunks; c++) {
        uint64_t lo = limit * c / chunks, hi = limit * (c + 1) / chunks;
        fs[c] = primes_count_at((unsigned)nodes[c % n], EBB_ID_PRIMES, lo, hi);
    }
    err = ebb_future_block(ebb_future_when_all(fs, chunks, vals), NULL);
    double ms = (platform_now_ns() - t0) / 1e6;
    uint64_t sum = 0;
    for (unsigned c = 0; c < chunks && !err; c++)
        sum += vals[c];
    for (unsigned i = 0; i < n; i++)
        node_allocator_free(EBB_ID_NODE_ALLOCATOR, (unsigned)nodes[i]);
    if (err) {
        fprintf(stderr, "offload: a chunk failed: %s\n", strerror(err));
        ebb_exit(1);
        return;
    }
    uint64_t here = primes_count_local(2, limit);
    printf("primes below %llu: %llu (%u chunks on %u native nodes, %.0f ms; counted here: %llu)\n",
           (unsigned long long)limit, (unsigned long long)sum, chunks, n, ms,
           (unsigned long long)here);
    ebb_exit(sum == here ? 0 : 1);
}

void app_main(void) { ebb_spawn(front, NULL); }
