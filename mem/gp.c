/* The general-purpose allocator (see gp.h). */
#include "mem/gp.h"
#include "mem/span.h"
#include "mem/vmem.h"
#include "ebbs/malloc.gen.h"
#include <errno.h>
#include <string.h>

static const uint32_t class_size[GP_NCLASSES] = {
    8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336,
    16384,
};
const unsigned char gp_class_small[129] = {
    0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11,
    12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15,
    15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
    17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19,
    19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
    20, 20, 20, 20,
};
const unsigned char gp_class_mid[129] = {
    1, 8, 12, 14, 16, 17, 18, 19, 20, 21, 21, 22, 22, 23, 23, 24, 24, 25, 25, 25, 25, 26, 26, 26,
    26, 27, 27, 27, 27, 28, 28, 28, 28, 29, 29, 29, 29, 29, 29, 29, 29, 30, 30, 30, 30, 30, 30, 30,
    30, 31, 31, 31, 31, 31, 31, 31, 31, 32, 32, 32, 32, 32, 32, 32, 32, 33, 33, 33, 33, 33, 33, 33,
    33, 33, 33, 33, 33, 33, 33, 33, 33, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34,
    34, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 36, 36, 36, 36, 36, 36, 36,
    36, 36, 36, 36, 36, 36, 36, 36, 36,
};

struct slab_class gp_classes[GP_NCLASSES];

static int pool_lock;
static int trim_lock; /* held by a gp_trim_idle_all pass */
static struct gp *pool;
static struct gp *reps[GP_MAX_REPS];
static unsigned nreps;
static int classes_ready;

static unsigned rep_order;  /* a struct gp and its caches' arrays fit in 2^rep_order pages */

struct gp *gp_acquire(unsigned node)
{
    spin_lock(&pool_lock);
    if (!classes_ready) {
        size_t bytes = sizeof(struct gp);
        for (unsigned i = 0; i < GP_NCLASSES; i++) {
            slab_class_init(&gp_classes[i], class_size[i]);
            bytes += slab_mag_slots(&gp_classes[i]) * sizeof(void *);
        }
        while ((MEM_PAGE_SIZE << rep_order) < bytes)
            rep_order++;
        classes_ready = 1;
    }
    struct gp **pp = &pool;
    while (*pp && (*pp)->node != node)
        pp = &(*pp)->pool_next;
    struct gp *g = *pp;
    if (g) {
        *pp = g->pool_next;
        g->pool_next = NULL;
        spin_unlock(&pool_lock);
        return g;
    }
    if (nreps == GP_MAX_REPS) {
        spin_unlock(&pool_lock);
        return NULL;
    }
    g = mem_pages_alloc(node, rep_order);
    if (!g) {
        spin_unlock(&pool_lock);
        return NULL;
    }
    memset(g, 0, sizeof *g);
    g->ops = &gp_malloc_ops;
    g->node = node;
    g->index = nreps;
    void **slots = (void **)(g + 1);
    for (unsigned i = 0; i < GP_NCLASSES; i++) {
        uint32_t k = slab_mag_slots(&gp_classes[i]);
        slab_cpu_init(&g->cls[i], &gp_classes[i], node,
                      (uint32_t)(offsetof(struct gp, cls) + i * sizeof(struct slab_cpu)), slots, k);
        slots += k;
    }
    for (unsigned i = 0; i < GP_SMALL_SLOTS; i++)
        g->small[i] = &g->cls[gp_class_of(i * 8)];
    __atomic_store_n(&reps[nreps], g, __ATOMIC_RELEASE);
    __atomic_store_n(&nreps, nreps + 1, __ATOMIC_RELEASE);
    spin_unlock(&pool_lock);
    return g;
}

void gp_release(struct gp *g)
{
    gp_trim(g);
    spin_lock(&pool_lock);
    g->pool_next = pool;
    pool = g;
    spin_unlock(&pool_lock);
}

void gp_fork_lock(void)
{
    /* A trimming pass holds some rep's cache lock: the child must not inherit that. */
    spin_lock(&trim_lock);
    spin_lock(&pool_lock);
    vmem_fork_lock();
    mem_span_fork_lock();
    mem_pages_fork_lock();
}

void gp_fork_unlock(void)
{
    mem_pages_fork_unlock();
    mem_span_fork_unlock();
    vmem_fork_unlock();
    spin_unlock(&pool_lock);
    spin_unlock(&trim_lock);
}

unsigned gp_nreps(void) { return __atomic_load_n(&nreps, __ATOMIC_ACQUIRE); }
struct gp *gp_rep(unsigned i) { return i < gp_nreps() ? reps[i] : NULL; }

/* Large classes: pages p in (2^o, 2^(o+1)] round up to a multiple of 2^(o-2) pages. */
static unsigned large_class(size_t pages)
{
    unsigned o = 63 - (unsigned)__builtin_clzll(pages - 1);
    size_t step = (size_t)1 << (o - 2);
    return (o - 2) * 4 + (unsigned)((pages + step - 1) / step) - 5;
}

static size_t large_class_pages(unsigned c) { return (size_t)(c % 4 + 5) << (c / 4); }

/* A large block back to the heap it came from: the span heap, or the buddy lists. */
static void large_free(void *p, struct mem_page *pg, size_t npages)
{
    if (mem_span_owns(pg))
        mem_span_free(p);
    else
        mem_pages_free_n(p, npages);
}

/* The large cache's blocks back to the page allocator. Caller holds its lock. */
static void large_flush(struct gp_large *l)
{
    for (unsigned c = 0; c < GP_NLARGE; c++) {
        while (l->top[c]) {
            void *p = l->top[c];
            l->top[c] = *(void **)p;
            struct mem_page *pg = mem_page_of(p);
            pg->state = MEM_PG_LARGE;
            large_free(p, pg, large_class_pages(c));
        }
    }
    l->bytes = 0;
}

void gp_trim(struct gp *g)
{
    for (unsigned i = 0; i < GP_NCLASSES; i++)
        slab_trim(&g->cls[i]);
    spin_lock(&g->large.lock);
    large_flush(&g->large);
    spin_unlock(&g->large.lock);
    mem_span_trim(g->node);
}

void gp_trim_all(void)
{
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < gp_nreps(); i++)
            gp_trim(reps[i]);
}

size_t gp_cached_bytes(const struct gp *g)
{
    size_t n = __atomic_load_n(&g->large.bytes, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < GP_NCLASSES; i++)
        n += slab_cached_bytes(&g->cls[i]);
    return n;
}

size_t gp_trim_idle(struct gp *g)
{
    size_t n = 0;
    bool over = gp_cached_bytes(g) > GP_IDLE_MARK;
    for (unsigned i = 0; i < GP_NCLASSES; i++) {
        if (over)
            n += slab_trim_idle(&g->cls[i]);
        else /* keeps the idle test's view of the cache current */
            g->cls[i].seen = __atomic_load_n(&g->cls[i].slow, __ATOMIC_RELAXED);
    }
    struct gp_large *l = &g->large;
    uint32_t uses = __atomic_load_n(&l->uses, __ATOMIC_RELAXED);
    if (over && uses == l->seen && __atomic_load_n(&l->bytes, __ATOMIC_RELAXED) &&
        spin_trylock(&l->lock)) {
        n += l->bytes;
        large_flush(l);
        spin_unlock(&l->lock);
    }
    l->seen = uses;
    return n;
}

size_t gp_dirty_pages(unsigned node) { return mem_pages_dirty(node) + mem_span_dirty(node); }

void gp_release_all(unsigned node)
{
    mem_span_release(node, 0);
    mem_pages_release(node, 0);
}

size_t gp_trim_idle_all(void)
{
    static size_t last_takes[MEM_MAX_NODES];
    /* One trimmer at a time (each core's idle timer may call this). */
    if (!spin_trylock(&trim_lock))
        return 0;
    size_t n = 0;
    for (unsigned i = 0; i < gp_nreps(); i++)
        n += gp_trim_idle(reps[i]);
    for (unsigned node = 0; node < MEM_MAX_NODES; node++) {
        size_t takes = mem_pages_takes(node) + mem_span_takes(node);
        size_t keep = GP_DIRTY_KEEP;
        if (takes != last_takes[node]) { /* busy: keep some for reuse, as much as is in use */
            keep = mem_pages_used(node) - mem_span_free_pages(node);
            keep = keep > GP_DIRTY_MAX ? keep : GP_DIRTY_MAX;
        }
        if (mem_span_dirty(node) > keep)
            n += mem_span_release(node, keep) << MEM_PAGE_SHIFT;
        if (mem_pages_dirty(node) > keep)
            n += mem_pages_release(node, keep) << MEM_PAGE_SHIFT;
        last_takes[node] = takes;
    }
    spin_unlock(&trim_lock);
    return n;
}

/* Large allocations: whole pages, aligned to `align` (a power of two). */
static void *large_alloc(struct gp *g, size_t n, size_t align)
{
    if (n > SIZE_MAX - MEM_PAGE_SIZE)
        return NULL;
    size_t npages = (n + MEM_PAGE_SIZE - 1) >> MEM_PAGE_SHIFT;
    unsigned align_order = 0;
    while ((MEM_PAGE_SIZE << align_order) < align)
        align_order++;
    if (npages <= MEM_SPAN_MAX && align_order == 0) {
        void *p = mem_span_alloc(g->node, npages);
        if (p)
            return p;
    }
    if (npages <= ((size_t)1 << MEM_MAX_ORDER) && align_order <= MEM_MAX_ORDER) {
        void *p = mem_pages_alloc_n(g->node, npages, align_order);
        if (p)
            return p;
    }
    return vmem_alloc_large(npages << MEM_PAGE_SHIFT, align);
}

/* A large block of a class: from the rep's cache, else from the page allocator. */
static void *large_class_alloc(struct gp *g, size_t n)
{
    unsigned c = large_class((n + MEM_PAGE_SIZE - 1) >> MEM_PAGE_SHIFT);
    struct gp_large *l = &g->large;
    spin_lock(&l->lock);
    l->uses++;
    void *p = l->top[c];
    if (p) {
        l->top[c] = *(void **)p;
        l->bytes -= large_class_pages(c) << MEM_PAGE_SHIFT;
        mem_page_of(p)->state = MEM_PG_LARGE;
    }
    spin_unlock(&l->lock);
    return p ? p : large_alloc(g, large_class_pages(c) << MEM_PAGE_SHIFT, MEM_PAGE_SIZE);
}

/* Keeps a freed block of npages for the rep's next allocation of its class, if it is a class's
 * size and the cache has room. */
static bool large_cache_put(struct gp *g, struct mem_page *pg, void *p, size_t npages)
{
    if (npages > GP_LARGE_MAX >> MEM_PAGE_SHIFT || npages <= GP_SMALL_MAX >> MEM_PAGE_SHIFT)
        return false;
    unsigned c = large_class(npages);
    size_t bytes = npages << MEM_PAGE_SHIFT;
    struct gp_large *l = &g->large;
    if (large_class_pages(c) != npages ||
        __atomic_load_n(&l->bytes, __ATOMIC_RELAXED) + bytes > GP_LARGE_CACHE)
        return false;
    spin_lock(&l->lock);
    l->uses++;
    bool kept = l->bytes + bytes <= GP_LARGE_CACHE;
    if (kept) {
        pg->state = MEM_PG_CACHED; /* a second free of it is a double free */
        *(void **)p = l->top[c];
        l->top[c] = p;
        l->bytes += bytes;
    }
    spin_unlock(&l->lock);
    return kept;
}

void *gp_malloc(struct gp *g, size_t n)
{
    void *p;
    if (__builtin_expect(n <= GP_SMALL_MAX, 1))
        p = slab_alloc(n <= 1024 ? g->small[(n + 7) >> 3] : &g->cls[gp_class_of(n)]);
    else if (n <= GP_LARGE_MAX)
        p = large_class_alloc(g, n);
    else
        p = large_alloc(g, n, MEM_PAGE_SIZE);
    if (!p)
        errno = ENOMEM;
    return p;
}

void gp_free(struct gp *g, void *p)
{
    if (!p)
        return;
    struct mem_page *pg = mem_page_of(p);
    if (__builtin_expect(pg && pg->state == MEM_PG_SLAB, 1)) {
        slab_free((struct slab_cpu *)((char *)g + pg->off), pg, p);
        return;
    }
    if (pg && pg->state == MEM_PG_LARGE && mem_page_addr(pg) == p) {
        /* Freed pages stay resident for reuse until a trimmer releases them, but a block as
         * large as everything the trimmers let stay resident goes back at once. */
        if (pg->npages >= GP_DIRTY_MAX)
            mem_platform_release(p, (size_t)pg->npages << MEM_PAGE_SHIFT);
        if (!large_cache_put(g, pg, p, pg->npages))
            large_free(p, pg, pg->npages);
        return;
    }
    if (!pg && vmem_free_large(p) == 0)
        return;
    if (pg && (pg->state == MEM_PG_FREE || pg->state == MEM_PG_CACHED || pg->state == MEM_PG_SPAN))
        mem_fatal("mem: free(%p): double free (the page is free)", p);
    mem_fatal("mem: free(%p): pointer was not returned by the allocator", p);
}

void *gp_calloc(struct gp *g, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = gp_malloc(g, n);
    /* Large blocks are fresh pages only the first time; slab objects are reused: clear both. */
    if (p)
        memset(p, 0, n);
    return p;
}

size_t gp_usable_size(struct gp *g, const void *p)
{
    (void)g;
    if (!p)
        return 0;
    struct mem_page *pg = mem_page_of(p);
    if (pg && pg->state == MEM_PG_SLAB)
        return ((struct slab *)pg->owner)->cls->size;
    if (pg && pg->state == MEM_PG_LARGE && mem_page_addr(pg) == p)
        return (size_t)pg->npages << MEM_PAGE_SHIFT;
    size_t n;
    if (!pg && (n = vmem_large_size(p)))
        return n;
    mem_fatal("mem: malloc_usable_size(%p): pointer was not returned by the allocator", p);
}

void *gp_realloc(struct gp *g, void *p, size_t n)
{
    if (!p)
        return gp_malloc(g, n);
    if (n == 0) {
        gp_free(g, p);
        return NULL;
    }
    size_t have = gp_usable_size(g, p);
    /* Stay in place if it fits and would not waste more than half. */
    if (n <= have && (n > have / 2 || have <= 16))
        return p;
    void *q = gp_malloc(g, n);
    if (!q)
        return NULL;
    memcpy(q, p, n < have ? n : have);
    gp_free(g, p);
    return q;
}

void *gp_memalign(struct gp *g, size_t align, size_t n)
{
    /* Blocks of 8 bytes or less are only 8-byte aligned (all a type that fits needs). */
    if (align <= 8 || (align <= 16 && n > 8))
        return gp_malloc(g, n);
    if (align & (align - 1)) {
        errno = EINVAL;
        return NULL;
    }
    size_t want = n > align ? n : align;
    void *p;
    if (align <= MEM_PAGE_SIZE && want <= MEM_PAGE_SIZE) {
        /* Power-of-two classes hold objects aligned to their size (up to a page). */
        size_t sz = 16;
        while (sz < want)
            sz <<= 1;
        p = slab_alloc(&g->cls[gp_class_of(sz)]);
    } else {
        p = large_alloc(g, want, align);
    }
    if (!p)
        errno = ENOMEM;
    return p;
}

bool gp_owns(const void *p)
{
    struct mem_page *pg = mem_page_of(p);
    if (pg)
        return pg->state == MEM_PG_SLAB || pg->state == MEM_PG_LARGE;
    return vmem_large_size(p) != 0;
}

static void *op_malloc(void *self, size_t n) { return gp_malloc(self, n); }
static void op_free(void *self, void *p) { gp_free(self, p); }
static void *op_realloc(void *self, void *p, size_t n) { return gp_realloc(self, p, n); }
static void *op_memalign(void *self, size_t a, size_t n) { return gp_memalign(self, a, n); }
static size_t op_usable_size(void *self, const void *p) { return gp_usable_size(self, p); }

const struct mem_malloc gp_malloc_ops = {
    .malloc = op_malloc,
    .free = op_free,
    .realloc = op_realloc,
    .memalign = op_memalign,
    .usable_size = op_usable_size,
};
