/* The large-block heap (see span.h). */
#include "mem/span.h"
#include "core/platform.h"
#include <string.h>

#define NBINS (MEM_SPAN_CHUNK + 1) /* bin[n]: free spans of exactly n pages */

static struct span_heap {
    int lock;
    struct mem_page *bin[NBINS];
    uint64_t full[(NBINS + 63) / 64]; /* bit n: bin[n] is not empty */
    size_t free_pages, dirty_pages, takes;
    size_t empty;                     /* chunks entirely free (each one span in bin[CHUNK]) */
} heaps[MEM_MAX_NODES];

static void bin_push(struct span_heap *h, struct mem_page *pg)
{
    size_t n = pg->npages;
    pg->prev = NULL;
    pg->next = h->bin[n];
    if (pg->next)
        pg->next->prev = pg;
    h->bin[n] = pg;
    h->full[n / 64] |= 1ull << (n % 64);
    h->free_pages += n;
    if (pg->order)
        h->dirty_pages += n;
    if (n == MEM_SPAN_CHUNK)
        h->empty++;
}

static void bin_del(struct span_heap *h, struct mem_page *pg)
{
    size_t n = pg->npages;
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        h->bin[n] = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
    if (!h->bin[n])
        h->full[n / 64] &= ~(1ull << (n % 64));
    h->free_pages -= n;
    if (pg->order)
        h->dirty_pages -= n;
    if (n == MEM_SPAN_CHUNK)
        h->empty--;
}

/* Marks pg[0..n) a free span (head and last page) and bins it. */
static void span_set(struct span_heap *h, struct mem_page *pg, size_t n, bool dirty)
{
    struct mem_page *last = pg + n - 1;
    last->state = MEM_PG_SPAN;
    last->npages = (uint32_t)n;
    last->owner = pg;
    pg->state = MEM_PG_SPAN;
    pg->npages = (uint32_t)n;
    pg->owner = pg;
    pg->order = dirty;
    bin_push(h, pg);
}

static void clear(struct mem_page *pg)
{
    pg->state = MEM_PG_NONE;
    pg->owner = NULL;
    pg->npages = 0;
    pg->order = 0;
    pg->next = pg->prev = NULL;
}

static size_t chunk_index(const void *a)
{
    return ((uintptr_t)a >> MEM_PAGE_SHIFT) & (MEM_SPAN_CHUNK - 1);
}

/* Frees the n pages at a (descriptors from pg): merged with the free spans next to it in its
 * chunk; a chunk that becomes entirely free goes back to the buddy allocator unless it is the
 * heap's only empty one. Caller holds the lock; returns a chunk to give back (outside the lock),
 * or NULL. */
static void *insert(struct span_heap *h, char *a, struct mem_page *pg, size_t n, bool dirty)
{
    if (chunk_index(a)) {
        struct mem_page *prev = pg - 1;
        if (prev->state == MEM_PG_SPAN) {
            struct mem_page *head = prev->owner;
            size_t m = head->npages;
            bin_del(h, head);
            dirty |= head->order;
            clear(prev);
            clear(pg);
            a -= m << MEM_PAGE_SHIFT;
            pg = head;
            n += m;
        }
    }
    if (chunk_index(a + (n << MEM_PAGE_SHIFT))) {
        struct mem_page *next = pg + n;
        if (next->state == MEM_PG_SPAN) {
            size_t m = next->npages;
            bin_del(h, next);
            dirty |= next->order;
            clear(pg + n - 1);
            clear(next);
            n += m;
        }
    }
    if (n == MEM_SPAN_CHUNK && h->empty) {
        clear(pg);
        clear(pg + n - 1);
        return a;
    }
    span_set(h, pg, n, dirty);
    return NULL;
}

static void chunk_free(void *a, bool dirty)
{
    if (dirty)
        mem_pages_free(a, MEM_SPAN_CHUNK_ORDER);
    else
        mem_pages_free_released(a, MEM_SPAN_CHUNK_ORDER);
}

/* The smallest non-empty bin of at least n pages, or 0. */
static size_t best_bin(const struct span_heap *h, size_t n)
{
    size_t w = n / 64;
    uint64_t bits = h->full[w] & (~0ull << (n % 64));
    for (;;) {
        if (bits)
            return w * 64 + (size_t)__builtin_ctzll(bits);
        if (++w == sizeof h->full / sizeof h->full[0])
            return 0;
        bits = h->full[w];
    }
}

void *mem_span_alloc(unsigned node, size_t npages)
{
    if (node >= MEM_MAX_NODES || npages == 0 || npages > MEM_SPAN_MAX)
        return NULL;
    struct span_heap *h = &heaps[node];
    spin_lock(&h->lock);
    size_t b = best_bin(h, npages);
    if (!b) {
        spin_unlock(&h->lock);
        char *c = mem_pages_alloc(node, MEM_SPAN_CHUNK_ORDER);
        if (!c)
            return NULL;
        struct mem_page *pg = mem_page_of(c);
        bool dirty = pg->dirty != 0; /* the buddy's estimate for the block it handed out */
        pg->state = MEM_PG_NONE;
        spin_lock(&h->lock);
        span_set(h, pg, MEM_SPAN_CHUNK, dirty);
        b = best_bin(h, npages);
    }
    struct mem_page *pg = h->bin[b];
    bin_del(h, pg);
    bool dirty = pg->order;
    if (b > npages) {
        span_set(h, pg + npages, b - npages, dirty);
    } else if (b > 1) {
        clear(pg + b - 1);
    }
    h->takes++;
    pg->state = MEM_PG_LARGE;
    pg->npages = (uint32_t)npages;
    pg->owner = h;
    pg->order = 0;
    pg->node = (uint16_t)node;
    spin_unlock(&h->lock);
    return mem_page_addr(pg);
}

bool mem_span_owns(const struct mem_page *pg)
{
    return (const char *)pg->owner >= (const char *)heaps &&
           (const char *)pg->owner < (const char *)(heaps + MEM_MAX_NODES);
}

/* The n pages at p (page pg) back into h's bins, merged with free neighbours; a chunk that
 * becomes whole goes back to the page allocator. */
static void put_back(struct span_heap *h, void *p, struct mem_page *pg, size_t n, bool dirty)
{
    clear(pg);
    spin_lock(&h->lock);
    void *chunk = insert(h, p, pg, n, dirty);
    spin_unlock(&h->lock);
    if (chunk)
        chunk_free(chunk, dirty);
}

void mem_span_free(void *p)
{
    struct mem_page *pg = mem_page_of(p);
    put_back(pg->owner, p, pg, pg->npages, true);
}

size_t mem_span_release(unsigned node, size_t keep_pages)
{
    if (node >= MEM_MAX_NODES)
        return 0;
    struct span_heap *h = &heaps[node];
    size_t released = 0;
    for (;;) {
        /* A few dirty spans at a time leave the bins while their memory goes back (outside the
         * lock: a system call hosted), then return clean, largest first. */
        struct mem_page *batch[16];
        unsigned k = 0;
        spin_lock(&h->lock);
        for (size_t n = NBINS - 1; n > 0 && k < 16 && h->dirty_pages > keep_pages; n--)
            for (struct mem_page *pg = h->bin[n], *next; pg && k < 16 && h->dirty_pages > keep_pages;
                 pg = next) {
                next = pg->next;
                if (!pg->order)
                    continue;
                bin_del(h, pg);
                /* Out of reach of merges meanwhile: neither end is marked a free span. */
                if (pg->npages > 1)
                    clear(pg + pg->npages - 1);
                pg->state = MEM_PG_RAW;
                batch[k++] = pg;
            }
        spin_unlock(&h->lock);
        if (!k)
            return released;
        for (unsigned i = 0; i < k; i++)
            mem_platform_release(mem_page_addr(batch[i]), (size_t)batch[i]->npages << MEM_PAGE_SHIFT);
        for (unsigned i = 0; i < k; i++) {
            released += batch[i]->npages;
            put_back(h, mem_page_addr(batch[i]), batch[i], batch[i]->npages, false);
        }
    }
}

size_t mem_span_free_pages(unsigned node) { return __atomic_load_n(&heaps[node].free_pages, __ATOMIC_RELAXED); }
size_t mem_span_dirty(unsigned node) { return __atomic_load_n(&heaps[node].dirty_pages, __ATOMIC_RELAXED); }
size_t mem_span_takes(unsigned node) { return __atomic_load_n(&heaps[node].takes, __ATOMIC_RELAXED); }

void mem_span_trim(unsigned node)
{
    struct span_heap *h = &heaps[node];
    for (;;) {
        spin_lock(&h->lock);
        struct mem_page *pg = h->bin[MEM_SPAN_CHUNK];
        if (!pg) {
            spin_unlock(&h->lock);
            return;
        }
        bin_del(h, pg);
        bool dirty = pg->order;
        clear(pg + MEM_SPAN_CHUNK - 1);
        clear(pg);
        spin_unlock(&h->lock);
        chunk_free(mem_page_addr(pg), dirty);
    }
}

void mem_span_fork_lock(void)
{
    for (unsigned i = 0; i < MEM_MAX_NODES; i++)
        spin_lock(&heaps[i].lock);
}

void mem_span_fork_unlock(void)
{
    for (unsigned i = 0; i < MEM_MAX_NODES; i++)
        spin_unlock(&heaps[i].lock);
}
