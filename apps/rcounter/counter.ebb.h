/* A counter per node that other nodes update and read through the Messenger: the example of a
 * remotely callable Ebb interface (docs/ebbgen.md). ebbgen generates counter.gen.h from this. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"

/* A static id: the same Ebb on every node (the manifest binds it to counter_root). */
#define EBB_ID_COUNTER EBB_ID(0, 65)

struct EBB_INTERFACE(per_node) counter {
    /* Adds n; returns the new value. */
    uint64_t (*add)(void *self, uint64_t n) EBB_REMOTE;
    uint64_t (*get)(void *self) EBB_REMOTE;
    /* Writes "counter of node N" (NUL-terminated, cut to cap) into buf; returns its length. */
    size_t (*describe)(void *self, char *EBB_OUT(cap) buf, size_t cap) EBB_REMOTE;
    /* Ends the program of the node serving it, after replying. */
    void (*stop)(void *self, int32_t code) EBB_REMOTE;
};
