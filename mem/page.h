/* The page allocator: a buddy system per NUMA node over "physical" memory ranges.
 *
 * Memory enters through mem_add_range() (native: the multiboot map; hosted: an mmap'd arena the
 * platform adds the first time a node runs dry, see mem_platform_grow). Every 4 KiB page of a
 * range has a descriptor (struct mem_page), carved from the start of the range itself, so the
 * owner of any address (free block, slab, large allocation) is found in O(1) without touching the
 * page. Blocks are 2^order pages, aligned to their size; frees coalesce with their buddy. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/spinlock.h"

#define MEM_PAGE_SHIFT 12
#define MEM_PAGE_SIZE  ((size_t)1 << MEM_PAGE_SHIFT)
#define MEM_MAX_ORDER  18      /* largest block: 2^18 pages = 1 GiB */
#define MEM_MAX_NODES  16
#define MEM_MAX_RANGES 32

enum mem_page_state {
    MEM_PG_NONE = 0,  /* interior of a block, or a reserved page */
    MEM_PG_FREE,      /* head of a free block of `order` */
    MEM_PG_RAW,       /* head of a block handed out by mem_pages_alloc() */
    MEM_PG_SLAB,      /* any page of a slab: owner is the struct slab */
    MEM_PG_LARGE,     /* head of a large general-purpose allocation of npages */
    MEM_PG_CACHED,    /* head of a freed one of those, kept by a rep for reuse (mem/gp.c) */
    MEM_PG_SPAN,      /* head or last page of a free span of the large-block heap (mem/span.h) */
};

struct mem_page {
    union {
        struct { struct mem_page *next, *prev; }; /* MEM_PG_FREE: its free list */
        struct { void *cpu; uint32_t off; };      /* MEM_PG_SLAB: owning cache, its offset in its rep */
    };
    void *owner;                                  /* MEM_PG_SLAB: the struct slab */
    union {
        uint32_t npages;                          /* MEM_PG_LARGE, _CACHED, _SPAN: pages of the block */
        uint32_t dirty;                           /* MEM_PG_FREE: may still hold memory */
    };
    uint8_t order;
    uint8_t state;
    uint16_t node;
};

struct mem_range {
    uintptr_t start, end;        /* page aligned */
    size_t len;                  /* end - start */
    struct mem_page *pages;      /* pages[(a - start) >> MEM_PAGE_SHIFT] */
    unsigned node;
};

extern struct mem_range mem_ranges[MEM_MAX_RANGES];
extern unsigned mem_nranges;

/* Adds [start, end) as free memory of node. Descriptors are carved from the start of the range.
 * Returns 0, or -1 if the range is too small, overlaps a known one, or the table is full. */
int mem_add_range(unsigned node, uintptr_t start, uintptr_t end);

/* Freed blocks are "dirty" (their memory may still be resident) and are handed out again before
 * clean ones, so a program that frees and allocates reuses memory it already has, without a
 * system call or a page fault. mem_pages_release() gives dirty free memory back to the platform
 * (mem_platform_release, core/platform.h); the trimmers call it (gp_trim_idle_all in mem/gp.h). */
/* Releases dirty free blocks of node, largest first, until at most keep_pages dirty free pages
 * remain. Returns the pages released. */
size_t mem_pages_release(unsigned node, size_t keep_pages);
/* Pages of node not free (in use by the allocators and their caches), and free but dirty. */
size_t mem_pages_used(unsigned node);
size_t mem_pages_dirty(unsigned node);
/* Blocks node handed out so far (a measure of activity). */
size_t mem_pages_takes(unsigned node);

/* Blocks of 2^order pages, aligned to their size. NULL when the node has no such block. */
void *mem_pages_alloc(unsigned node, unsigned order);
void mem_pages_free(void *p, unsigned order);
/* Frees a block after giving its memory back to the platform: for a big block the caller knows
 * it will not reuse soon (it goes back clean, not to the dirty pages the trimmers release). */
void mem_pages_free_released(void *p, unsigned order);
/* npages pages aligned to 2^align_order pages; the unused tail of the block goes back at once.
 * Marks the head MEM_PG_LARGE with npages. Freed with mem_pages_free_n(). */
void *mem_pages_alloc_n(unsigned node, size_t npages, unsigned align_order);
void mem_pages_free_n(void *p, size_t npages);

/* The descriptor of the page holding a, or NULL if a is in no range. */
static inline struct mem_page *mem_page_of(const void *a)
{
    uintptr_t x = (uintptr_t)a;
    unsigned n = __atomic_load_n(&mem_nranges, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) {
        struct mem_range *r = &mem_ranges[i];
        if (x - r->start < r->len)
            return &r->pages[(x - r->start) >> MEM_PAGE_SHIFT];
    }
    return NULL;
}
/* The address a descriptor stands for. */
void *mem_page_addr(const struct mem_page *pg);

struct mem_node_stats {
    size_t total_pages;          /* pages handed to the buddy lists by mem_add_range */
    size_t free_pages;
    size_t dirty_pages;          /* of free_pages: freed after use, not released yet */
    size_t free_blocks[MEM_MAX_ORDER + 1];
};
void mem_pages_stats(unsigned node, struct mem_node_stats *st);
/* Walks the node's free lists checking every invariant (heads marked free with their order,
 * aligned, inside a range, no two blocks overlap, no free buddy left unmerged, counts agree).
 * Returns 0, or -1 with a description in err. Takes the node lock: for tests and debugging. */
int mem_pages_check(unsigned node, char *err, size_t errlen);
/* True once every page added to node is free again, coalesced as when it was added. */
bool mem_pages_all_free(unsigned node);

/* Around fork() (hosted): hold every page-allocator lock, then release them (parent and child). */
void mem_pages_fork_lock(void);
void mem_pages_fork_unlock(void);

/* Reports misuse (double free, foreign pointer) and stops the program. */
__attribute__((noreturn, format(printf, 1, 2))) void mem_fatal(const char *fmt, ...);
