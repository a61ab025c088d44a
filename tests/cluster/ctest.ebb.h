/* The cluster test's Ebb (tests/cluster.t): every node, the front end and its native nodes, serves
 * its own rep, and the test calls them across nodes. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"

#define EBB_ID_CTEST EBB_ID(0, 67)
/* The last id of the space (last node, last index), bound (ctest_bind_top) to the same root on
 * every node. */
#define EBB_ID_CTEST_TOP EBB_ID(EBB_MAX_NODES - 1, EBB_MAX_INDEX - 1)

struct EBB_INTERFACE(per_node) ctest {
    /* x + 1000 * this node. */
    uint64_t (*echo)(void *self, uint64_t x) EBB_REMOTE;
    /* Calls echo(x) of Ebb id on target from this node; its result, or the error in the high
     * bit (1 << 63 | errno). */
    uint64_t (*relay)(void *self, uint32_t target, ebb_id_t id, uint64_t x) EBB_REMOTE;
    /* Calls target's sleep(ms) from this node: ms, or 1 << 63 | errno. */
    uint64_t (*relay_sleep)(void *self, uint32_t target, uint64_t ms) EBB_REMOTE;
    /* The GlobalIdMap's members as this node sees them: a bit per node (all below 63), or
     * 1 << 63 | errno. */
    uint64_t (*members)(void *self) EBB_REMOTE;
    /* Sets (set != 0) or checks, from this node, the 1,000 ids at the top of space's index range
     * in the GlobalIdMap (tests/gidmap_ids.h): how many failed. */
    uint64_t (*ids)(void *self, uint32_t space, uint32_t set) EBB_REMOTE;
    /* Replies after ms milliseconds. */
    uint64_t (*sleep)(void *self, uint64_t ms) EBB_REMOTE;
    /* How many sleep() calls this node is in. */
    uint64_t (*sleeping)(void *self) EBB_REMOTE;
    /* Takes n bytes (the round-trip benchmark's payload); returns n. */
    uint64_t (*put)(void *self, const uint8_t *EBB_IN(n) buf, uint64_t n) EBB_REMOTE;
    /* The median round trip, in ns, of `calls` put() calls of 64 bytes from this node to target
     * (make bench-cluster); 0 if one failed. */
    uint64_t (*rtt)(void *self, uint32_t target, uint64_t calls) EBB_REMOTE;
};

/* Binds EBB_ID_CTEST_TOP on this node: 0 or -errno. */
int ctest_bind_top(void);
