/* The general-purpose allocator Ebb: what malloc() and friends call (mem/malloc.c). The default
 * root (mem_gp_root, mem/ebbs.c) gives each core a struct gp (mem/gp.h); ebbs/default.manifest
 * binds it, and an image replaces it with one line in its own manifest (docs/allocator.md). */
#pragma once
#include <stddef.h>
#include "core/ebb_annot.h"
#include "core/ebb.h"

/* EBB_ID_MALLOC: core/ids.h */
extern struct ebb_root mem_gp_root;

struct EBB_INTERFACE(per_core) mem_malloc {
    void *(*malloc)(void *self, size_t size);
    /* p is never NULL; it may come from another core's rep of the same root. */
    void (*free)(void *self, void *p);
    void *(*realloc)(void *self, void *p, size_t size);
    void *(*memalign)(void *self, size_t align, size_t size);
    size_t (*usable_size)(void *self, const void *p);
};
