/* A slab cache Ebb: fixed-size objects, one rep per core (mem/slab.h). Each cache is its own
 * Ebb with a dynamic id: slab_cache_create(size) makes one. */
#pragma once
#include <stddef.h>
#include "core/ebb_annot.h"
#include "core/ebb.h"

struct EBB_INTERFACE(per_core) slab_cache {
    void *(*alloc)(void *self);
    /* p may have been allocated on another core: it goes back to its owner in a batch. */
    void (*free)(void *self, void *p);
};

/* A new cache of `size`-byte objects (aligned to size's lowest set bit, at most a page) bound
 * to a fresh id; EBB_ID_NONE if out of ids or memory. */
ebb_id_t slab_cache_create(size_t size);
