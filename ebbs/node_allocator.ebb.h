/* The NodeAllocator: boots native nodes of this application in QEMU from a hosted front end and
 * links them to it (docs/cluster.md). A system Ebb of the hosted library (platform/hosted/
 * node_allocator.c); a native image has no root for it (a call there fails with ENOENT). */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"
#include "core/future.h"

/* EBB_ID_NODE_ALLOCATOR: core/ids.h */

struct node_options {
    const char *image;   /* the native image (.elf) to boot; a name without '/': the image
                          * built beside this program, build/native/NAME.elf */
    unsigned cores;      /* vCPUs, and cores= of the node [1] */
    unsigned memory_mb;  /* RAM [128] */
    const char *numa;    /* host NUMA nodes its QEMU runs on, as in sysfs: "0", "0-1,3"; its
                          * threads get their CPUs, its memory (the guest's RAM) is bound to
                          * them. NULL: no binding. A malformed list fails the allocation with
                          * EINVAL, a node this host lacks with ENODEV, before any QEMU starts */
    const char *args;    /* more key=value words for the node's command line, or NULL */
};

struct EBB_INTERFACE(shared) node_allocator {
    /* Boots a node: the future's value is its node number, once it is up and its Messenger has
     * proven itself to this one; it fails with EBB_ENODEDOWN (core/messenger.h) if the node
     * exits first, ETIMEDOUT if it does not come up in time (node_boot_timeout_ms). */
    ebb_future_t (*allocate)(void *self, const struct node_options *opt);
    /* Stops node: calls pending on it fail with EBB_ENODEDOWN. 0, or -ENOENT (no such node). */
    int (*free)(void *self, unsigned node);
    /* The nodes running now. */
    unsigned (*count)(void *self);
};
