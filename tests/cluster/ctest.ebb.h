/* The cluster test's Ebb (tests/cluster.t): every node, the front end and its native nodes, serves
 * its own rep, and the test calls them across nodes. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"

#define EBB_ID_CTEST EBB_ID(0, 67)

struct EBB_INTERFACE(per_node) ctest {
    /* x + 1000 * this node. */
    uint64_t (*echo)(void *self, uint64_t x) EBB_REMOTE;
    /* Calls target's echo(x) from this node; its result, or 0 with the error in the high bits
     * (1 << 63 | errno). */
    uint64_t (*relay)(void *self, uint32_t target, uint64_t x) EBB_REMOTE;
    /* Replies after ms milliseconds. */
    uint64_t (*sleep)(void *self, uint64_t ms) EBB_REMOTE;
    /* Takes n bytes (the round-trip benchmark's payload); returns n. */
    uint64_t (*put)(void *self, const uint8_t *EBB_IN(n) buf, uint64_t n) EBB_REMOTE;
    /* The median round trip, in ns, of `calls` put() calls of 64 bytes from this node to target
     * (make bench-cluster); 0 if one failed. */
    uint64_t (*rtt)(void *self, uint32_t target, uint64_t calls) EBB_REMOTE;
};
