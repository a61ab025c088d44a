/* The general-purpose allocator Ebb: what malloc() and friends call (mem/malloc.c). The default
 * root (mem/ebbs.c) gives each core a struct gp (mem/gp.h); a user binds another root to
 * EBB_ID_MALLOC in the image manifest to replace it (docs/allocator.md, reps/tlsf.c). */
#pragma once
#include <stddef.h>
#include "ebbs/mem_annot.h"
#include "core/ebb.h"

#define EBB_ID_MALLOC EBB_ID(0, 16)

struct EBB_INTERFACE(per_core) mem_malloc {
    void *(*malloc)(void *self, size_t size);
    /* p is never NULL; it may come from another core's rep of the same root. */
    void (*free)(void *self, void *p);
    void *(*realloc)(void *self, void *p, size_t size);
    void *(*memalign)(void *self, size_t align, size_t size);
    size_t (*usable_size)(void *self, const void *p);
};
#define MEM_MALLOC_IFACE 0x6d616c6c6f630001ull

static inline void *mem_malloc_rep(void) { return ebb_rep(EBB_ID_MALLOC, MEM_MALLOC_IFACE); }
