/* The general-purpose allocator: malloc semantics over the slab caches and the page allocator.
 *
 * Sizes up to GP_SMALL_MAX go to one of GP_NCLASSES size classes (8, then 16..128 by 16, then
 * four classes per doubling up to 16 KiB), each a per-core slab cache. Every block is 16-byte
 * aligned, as glibc's, but those of 8 bytes or less: 8-byte aligned (as jemalloc's and
 * mimalloc's), all that a type that fits in them needs, at half the memory. Larger sizes are whole
 * pages: up to GP_LARGE_MAX rounded up to one of GP_NLARGE classes (four per doubling) and carved
 * from the large-block heap (mem/span.h), and a rep keeps the blocks it frees, up to
 * GP_LARGE_CACHE bytes, for its next allocations of their class: no lock shared with other cores,
 * and the block comes with the pages its previous user made resident. Beyond that, blocks of the
 * buddy allocator (the unused tail of the power-of-two block goes straight back), and beyond the
 * largest buddy block, vmem regions.
 *
 * A struct gp is one rep: a core's (or, hosted, one thread's) set of caches. It is the rep of the
 * malloc Ebb (ebbs/malloc.ebb.h): it begins with the method table. Reps are never destroyed;
 * a rep whose thread ended goes to a pool and is adopted, caches and all, by the next thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "mem/slab.h"

#define GP_NCLASSES  37
#define GP_SMALL_MAX 16384
#define GP_MAX_REPS  1024
#define GP_SMALL_SLOTS 129            /* struct gp's small[]: sizes 0..1024 by 8 */
#define GP_NLARGE    24               /* 5..8 pages by 1, 10..16 by 2, ... 160..256 by 64 */
#define GP_LARGE_MAX (256 * MEM_PAGE_SIZE)
#define GP_LARGE_CACHE (8u << 20)

/* A rep's cache of free large blocks: a stack per class, linked through the blocks' first word.
 * Its lock is the owner's but for the idle trimmer's rare look. */
struct gp_large {
    int lock;
    uint32_t uses, seen;          /* operations, and their count at the idle trimmer's last look */
    size_t bytes;
    void *top[GP_NLARGE];
};

struct gp {
    const void *ops;              /* struct mem_malloc */
    unsigned node;
    unsigned index;               /* in gp_reps[] */
    struct gp *pool_next;
    /* The cache for a request of n <= 1024 bytes: small[(n + 7) >> 3] (every class up to 1024
     * is a multiple of 8), one shift and one load on the fast path. */
    struct slab_cpu *small[GP_SMALL_SLOTS];
    struct gp_large large;
    struct slab_cpu cls[GP_NCLASSES];
};

extern struct slab_class gp_classes[GP_NCLASSES]; /* filled by the first gp_acquire() */
extern const unsigned char gp_class_small[129]; /* (n + 7) >> 3, n <= 1024 */
extern const unsigned char gp_class_mid[129];   /* (n + 127) >> 7, n <= 16384 */

static inline unsigned gp_class_of(size_t n)
{
    return n <= 1024 ? gp_class_small[(n + 7) >> 3] : gp_class_mid[(n + 127) >> 7];
}

/* A rep for a new core or thread: from the pool of released reps, or fresh. NULL if out of
 * memory. gp_release() gives it back (its caches are trimmed first, then kept for the next). */
struct gp *gp_acquire(unsigned node);
void gp_release(struct gp *g);
/* Around fork() (hosted): every lock of the memory system, in order, then released. */
void gp_fork_lock(void);
void gp_fork_unlock(void);
/* Every rep ever made (for trimming all of them in tests and at quiescent points). */
unsigned gp_nreps(void);
struct gp *gp_rep(unsigned i);

void *gp_malloc(struct gp *g, size_t n);
void gp_free(struct gp *g, void *p);
void *gp_calloc(struct gp *g, size_t nmemb, size_t size);
void *gp_realloc(struct gp *g, void *p, size_t n);
/* align: a power of two that is a multiple of sizeof(void *) (posix_memalign's rule). */
void *gp_memalign(struct gp *g, size_t align, size_t n);
size_t gp_usable_size(struct gp *g, const void *p);
/* True if p lies in memory the general-purpose allocator manages (a slab or a large block). */
bool gp_owns(const void *p);

/* Returns the rep's cached memory to the page allocator; with all reps quiescent, calling it on
 * every rep twice (the first pass pushes cross-core batches, the second takes them) returns
 * everything not in use. */
void gp_trim(struct gp *g);
void gp_trim_all(void);

/* Memory goes back without a program's help: a rep that holds more than GP_IDLE_MARK of free
 * objects beyond its arrays has the caches that took no slow path since the previous call
 * trimmed (slab_trim_idle); then the node's dirty free pages go back to the platform beyond
 * GP_DIRTY_KEEP if the page allocator handed out no block since the previous call, else beyond
 * GP_DIRTY_MAX or the pages in use, whichever is more (a busy program reuses what it freed, and
 * the count is an upper bound: a block is counted dirty whether or not the program touched all
 * of it). Called from any thread,
 * every GP_IDLE_PERIOD_MS or so: natively from each core's idle handler (mem/ebbs.c), under
 * LD_PRELOAD from a timer thread (platform/hosted/ebbmalloc.c). Returns the bytes trimmed. */
#define GP_IDLE_MARK      (256u << 10)
#define GP_DIRTY_KEEP     1024      /* pages: 4 MiB */
#define GP_DIRTY_MAX      16384     /* pages: 64 MiB */
#define GP_IDLE_PERIOD_MS 100
size_t gp_trim_idle(struct gp *g);
/* Free pages of node that may still be resident (buddy lists and the large-block heap), and
 * all of them given back to the platform. */
size_t gp_dirty_pages(unsigned node);
void gp_release_all(unsigned node);
size_t gp_trim_idle_all(void);
size_t gp_cached_bytes(const struct gp *g);

/* The rep of the calling thread or core, provided by the platform (hosted: one per Linux thread,
 * created on first use; native: the core's). */
struct gp *gp_self(void);

/* The method table of struct gp as a malloc Ebb rep. */
extern const struct mem_malloc gp_malloc_ops;
