/* The page allocator Ebb: one rep per NUMA node, each a buddy allocator (mem/page.h). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ebbs/mem_annot.h"
#include "core/ebb.h"

#define EBB_ID_PAGES EBB_ID(0, 17)

struct EBB_INTERFACE(per_node) mem_pages {
    /* 2^order pages aligned to their size, or NULL. */
    void *(*alloc)(void *self, unsigned order);
    void (*free)(void *self, void *p, unsigned order);
    /* Adds free physical memory [start, end) to this node (native boot: the multiboot map). */
    int (*add_range)(void *self, uintptr_t start, uintptr_t end);
};
#define MEM_PAGES_IFACE 0x7061676573000001ull

static inline void *mem_pages_rep(void) { return ebb_rep(EBB_ID_PAGES, MEM_PAGES_IFACE); }
