/* Control of a test node over the Messenger (tests/msg_e2e.c). */
#pragma once
#include <stdint.h>
#include "core/ebb_annot.h"
#include "core/future.h"

struct EBB_INTERFACE(shared) e2e_ctl {
    /* Ends the node's program with code, after this call's reply has gone out. */
    int (*quit)(void *self, int32_t code) EBB_REMOTE;
    /* Which node and core served the call. */
    uint32_t (*where)(void *self) EBB_REMOTE;
    /* Calls add(a, 1) on the sample Ebb of node `node` and returns its result (the serving event
     * blocks on that call). */
    ebb_future_t (*relay)(void *self, uint32_t node, uint64_t a) EBB_REMOTE;
};
