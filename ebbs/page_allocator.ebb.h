/* The page allocator Ebb: one rep per NUMA node, each a buddy allocator (mem/page.h). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
#include "core/ebb.h"

/* EBB_ID_PAGES: core/ids.h */
extern struct ebb_root mem_pages_root;

struct EBB_INTERFACE(per_node) page_allocator {
    /* 2^order pages aligned to their size, or NULL. */
    void *(*alloc)(void *self, unsigned order);
    void (*free)(void *self, void *p, unsigned order);
    /* Adds free physical memory [start, end) to this node (native boot: the multiboot map). */
    int (*add_range)(void *self, uintptr_t start, uintptr_t end);
};
