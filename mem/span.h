/* The large-block heap: runs of whole pages ("spans", up to MEM_SPAN_MAX pages) carved best-fit
 * from chunks of MEM_SPAN_CHUNK pages that come from the buddy allocator, and coalesced with their
 * free neighbours on free. One heap per node, behind one lock.
 *
 * Why not the buddy lists themselves: a buddy block is a power of two aligned to its size, so a
 * 600 KiB block needs a free, aligned 1 MiB block; once slabs and blocks of other sizes have cut
 * the dirty free memory into smaller pieces, such requests take fresh (clean) memory while the
 * resident free pieces stay unused (an mstress trace: 25-30 MiB in use, 60-80 MiB free but
 * resident, RSS growing all run). A span fits anywhere its page count fits, and keeping the large
 * blocks in chunks of their own keeps the slabs' lifetimes from fragmenting them.
 *
 * Page descriptors: an allocated span's head is MEM_PG_LARGE with npages (as a buddy block of
 * mem_pages_alloc_n) and owner naming its heap; a free span's head and last page are MEM_PG_SPAN
 * with npages, owner pointing at the head, order 1 if its memory may be resident ("dirty"). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "mem/page.h"

#define MEM_SPAN_CHUNK_ORDER 10                          /* 4 MiB chunks */
#define MEM_SPAN_CHUNK ((size_t)1 << MEM_SPAN_CHUNK_ORDER) /* pages */
#define MEM_SPAN_MAX 256                                 /* pages: 1 MiB, the largest span */

/* npages (1..MEM_SPAN_MAX) pages, page aligned; NULL if no chunk can be had (the caller may try
 * the buddy allocator). */
void *mem_span_alloc(unsigned node, size_t npages);
/* True if the block headed by pg came from mem_span_alloc. */
bool mem_span_owns(const struct mem_page *pg);
void mem_span_free(void *p);
/* Gives the memory of dirty free spans back to the platform until at most keep_pages dirty free
 * pages remain; returns the pages released. */
size_t mem_span_release(unsigned node, size_t keep_pages);
/* Pages of node's heap that are free, and of those the dirty ones; spans handed out so far. */
size_t mem_span_free_pages(unsigned node);
size_t mem_span_dirty(unsigned node);
size_t mem_span_takes(unsigned node);
/* Empty chunks back to the buddy allocator (a heap keeps one otherwise). */
void mem_span_trim(unsigned node);
void mem_span_fork_lock(void);
void mem_span_fork_unlock(void);
