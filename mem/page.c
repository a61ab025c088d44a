/* Buddy page allocator, one instance per NUMA node (see page.h). */
#include "mem/page.h"
#include "core/platform.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct mem_range mem_ranges[MEM_MAX_RANGES];
unsigned mem_nranges;

static struct buddy {
    int lock;
    /* Free blocks per order, doubly linked, NULL terminated: [1] dirty (holding pages used since
     * the range was added or last released), taken first; [0] clean. A block's `dirty` is its
     * count of such pages: exact through frees and merges, an estimate (proportional) when a
     * block is split, so dirty_pages, their sum, is what the node holds resident but free. */
    struct mem_page *free[2][MEM_MAX_ORDER + 1];
    size_t nfree[MEM_MAX_ORDER + 1];          /* both lists */
    size_t initial[MEM_MAX_ORDER + 1];        /* blocks per order right after mem_add_range */
    size_t total_pages, free_pages, dirty_pages;
    size_t takes;                             /* blocks handed out */
} nodes[MEM_MAX_NODES];
static int ranges_lock;
static int grow_lock;

void mem_fatal(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    platform_console_write(buf, (size_t)n);
    platform_abort();
}

static struct mem_range *range_of(uintptr_t a)
{
    for (unsigned i = 0; i < mem_nranges; i++)
        if (a - mem_ranges[i].start < mem_ranges[i].end - mem_ranges[i].start)
            return &mem_ranges[i];
    return NULL;
}

void *mem_page_addr(const struct mem_page *pg)
{
    for (unsigned i = 0; i < mem_nranges; i++) {
        struct mem_range *r = &mem_ranges[i];
        size_t n = (r->end - r->start) >> MEM_PAGE_SHIFT;
        if (pg >= r->pages && pg < r->pages + n)
            return (void *)(r->start + ((size_t)(pg - r->pages) << MEM_PAGE_SHIFT));
    }
    return NULL;
}

static void list_push(struct buddy *b, struct mem_page *pg, unsigned order, uint32_t dirty)
{
    pg->state = MEM_PG_FREE;
    pg->order = (uint8_t)order;
    pg->dirty = dirty;
    pg->prev = NULL;
    pg->next = b->free[dirty != 0][order];
    if (pg->next)
        pg->next->prev = pg;
    b->free[dirty != 0][order] = pg;
    b->nfree[order]++;
    b->dirty_pages += dirty;
}

static void list_del(struct buddy *b, struct mem_page *pg)
{
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        b->free[pg->dirty != 0][pg->order] = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
    b->nfree[pg->order]--;
    b->dirty_pages -= pg->dirty;
    pg->state = MEM_PG_NONE;
    pg->dirty = 0;
    pg->next = pg->prev = NULL;
}

/* Frees one aligned block holding `dirty` dirty pages, merging with free buddies of the same
 * range. */
static void block_free(struct buddy *b, struct mem_range *r, uintptr_t a, unsigned order,
                       uint32_t dirty)
{
    b->free_pages += (size_t)1 << order;
    while (order < MEM_MAX_ORDER) {
        uintptr_t buddy = a ^ ((uintptr_t)MEM_PAGE_SIZE << order);
        if (buddy < r->start || buddy + (MEM_PAGE_SIZE << order) > r->end)
            break;
        struct mem_page *bp = &r->pages[(buddy - r->start) >> MEM_PAGE_SHIFT];
        if (bp->state != MEM_PG_FREE || bp->order != order)
            break;
        dirty += bp->dirty;
        list_del(b, bp);
        a &= ~((uintptr_t)MEM_PAGE_SIZE << order);
        order++;
    }
    list_push(b, &r->pages[(a - r->start) >> MEM_PAGE_SHIFT], order, dirty);
}

/* Frees [a, a + n pages) as the largest aligned blocks that fit; the first `dirty` pages are
 * dirty. */
static void span_free(struct buddy *b, struct mem_range *r, uintptr_t a, size_t n, size_t dirty)
{
    while (n) {
        unsigned order = 0;
        while (order < MEM_MAX_ORDER && !(a & ((uintptr_t)MEM_PAGE_SIZE << order)) &&
               ((size_t)2 << order) <= n)
            order++;
        size_t d = dirty < ((size_t)1 << order) ? dirty : (size_t)1 << order;
        block_free(b, r, a, order, (uint32_t)d);
        dirty -= d;
        a += MEM_PAGE_SIZE << order;
        n -= (size_t)1 << order;
    }
}

int mem_add_range(unsigned node, uintptr_t start, uintptr_t end)
{
    start = (start + MEM_PAGE_SIZE - 1) & ~(MEM_PAGE_SIZE - 1);
    end &= ~(MEM_PAGE_SIZE - 1);
    if (node >= MEM_MAX_NODES || end <= start)
        return -1;
    size_t npages = (end - start) >> MEM_PAGE_SHIFT;
    size_t meta = (npages * sizeof(struct mem_page) + MEM_PAGE_SIZE - 1) >> MEM_PAGE_SHIFT;
    if (meta + 1 > npages)
        return -1;
    spin_lock(&ranges_lock);
    for (unsigned i = 0; i < mem_nranges; i++) {
        if (start < mem_ranges[i].end && mem_ranges[i].start < end) {
            spin_unlock(&ranges_lock);
            return -1;
        }
    }
    if (mem_nranges == MEM_MAX_RANGES) {
        spin_unlock(&ranges_lock);
        return -1;
    }
    struct mem_range *r = &mem_ranges[mem_nranges];
    r->start = start;
    r->end = end;
    r->len = end - start;
    r->node = node;
    r->pages = (struct mem_page *)start;
    /* Descriptors of the metadata pages themselves stay MEM_PG_NONE (reserved). Hosted, the
     * arena is fresh zeroed memory, so this touches only the pages it must. */
    __atomic_store_n(&mem_nranges, mem_nranges + 1, __ATOMIC_RELEASE);
    spin_unlock(&ranges_lock);

    struct buddy *b = &nodes[node];
    spin_lock(&b->lock);
    size_t n = npages - meta;
    b->total_pages += n;
    span_free(b, r, start + (meta << MEM_PAGE_SHIFT), n, 0);
    memcpy(b->initial, b->nfree, sizeof b->initial);
    spin_unlock(&b->lock);
    return 0;
}

static struct mem_range *range_of_page(const struct mem_page *pg)
{
    for (unsigned i = 0; i < mem_nranges; i++) {
        size_t n = (mem_ranges[i].end - mem_ranges[i].start) >> MEM_PAGE_SHIFT;
        if (pg >= mem_ranges[i].pages && pg < mem_ranges[i].pages + n)
            return &mem_ranges[i];
    }
    return NULL;
}

/* Takes a block of `order` from the lists, splitting a larger one: the smallest dirty block
 * that fits, else the smallest clean one. Caller holds the lock. */
static struct mem_page *block_take(struct buddy *b, unsigned order, uintptr_t *addr,
                                   struct mem_range **rp)
{
    struct mem_page *pg = NULL;
    unsigned o;
    for (int d = 1; d >= 0 && !pg; d--)
        for (o = order; o <= MEM_MAX_ORDER && !pg; o++)
            pg = b->free[d][o];
    if (!pg)
        return NULL;
    o = pg->order;
    uint32_t dirty = pg->dirty;
    b->takes++;
    list_del(b, pg);
    struct mem_range *r = range_of_page(pg);
    uintptr_t a = r->start + ((size_t)(pg - r->pages) << MEM_PAGE_SHIFT);
    while (o > order) {
        /* The upper half goes back with its share of the dirty pages. */
        uint32_t up = dirty / 2;
        o--;
        list_push(b, &r->pages[((a + (MEM_PAGE_SIZE << o)) - r->start) >> MEM_PAGE_SHIFT], o, up);
        dirty -= up;
    }
    b->free_pages -= (size_t)1 << order;
    pg->dirty = dirty; /* the taken block's share, for mem_pages_alloc_n's tail */
    *addr = a;
    *rp = r;
    return pg;
}

static struct mem_page *take_or_grow(unsigned node, unsigned order, uintptr_t *a,
                                     struct mem_range **r)
{
    struct buddy *b = &nodes[node];
    spin_lock(&b->lock);
    struct mem_page *pg = block_take(b, order, a, r);
    spin_unlock(&b->lock);
    if (pg)
        return pg;
    spin_lock(&grow_lock);
    spin_lock(&b->lock);
    pg = block_take(b, order, a, r);
    spin_unlock(&b->lock);
    if (!pg && mem_platform_grow(node, (MEM_PAGE_SIZE << order) * 2) == 0) {
        spin_lock(&b->lock);
        pg = block_take(b, order, a, r);
        spin_unlock(&b->lock);
    }
    spin_unlock(&grow_lock);
    /* A node without memory (or out of it) borrows from the others, nearest index first. */
    for (unsigned d = 1; !pg && d < MEM_MAX_NODES; d++) {
        struct buddy *o = &nodes[(node + d) % MEM_MAX_NODES];
        if (!__atomic_load_n(&o->total_pages, __ATOMIC_RELAXED))
            continue;
        spin_lock(&o->lock);
        pg = block_take(o, order, a, r);
        spin_unlock(&o->lock);
    }
    return pg;
}

void *mem_pages_alloc(unsigned node, unsigned order)
{
    if (node >= MEM_MAX_NODES || order > MEM_MAX_ORDER)
        return NULL;
    uintptr_t a;
    struct mem_range *r;
    struct mem_page *pg = take_or_grow(node, order, &a, &r);
    if (!pg)
        return NULL;
    pg->state = MEM_PG_RAW;
    pg->order = (uint8_t)order;
    pg->node = (uint16_t)r->node;
    pg->owner = NULL;
    return (void *)a;
}

static struct mem_range *checked_range(const void *p, const char *what)
{
    struct mem_range *r = range_of((uintptr_t)p);
    if (!r || ((uintptr_t)p & (MEM_PAGE_SIZE - 1)))
        mem_fatal("mem: %s(%p): not a page of the page allocator", what, p);
    return r;
}

static void pages_free(void *p, unsigned order, uint32_t dirty);

void mem_pages_free(void *p, unsigned order) { pages_free(p, order, (uint32_t)1 << order); }

void mem_pages_free_released(void *p, unsigned order)
{
    mem_platform_release(p, MEM_PAGE_SIZE << order);
    pages_free(p, order, 0);
}

static void pages_free(void *p, unsigned order, uint32_t dirty)
{
    struct mem_range *r = checked_range(p, "mem_pages_free");
    struct mem_page *pg = &r->pages[((uintptr_t)p - r->start) >> MEM_PAGE_SHIFT];
    if (pg->state == MEM_PG_FREE)
        mem_fatal("mem: mem_pages_free(%p): double free", p);
    if (order > MEM_MAX_ORDER || ((uintptr_t)p & ((MEM_PAGE_SIZE << order) - 1)))
        mem_fatal("mem: mem_pages_free(%p, %u): bad order", p, order);
    pg->state = MEM_PG_NONE;
    pg->owner = NULL;
    struct buddy *b = &nodes[r->node];
    spin_lock(&b->lock);
    block_free(b, r, (uintptr_t)p, order, dirty);
    spin_unlock(&b->lock);
}

void *mem_pages_alloc_n(unsigned node, size_t npages, unsigned align_order)
{
    if (node >= MEM_MAX_NODES || npages == 0 || npages > ((size_t)1 << MEM_MAX_ORDER) ||
        align_order > MEM_MAX_ORDER)
        return NULL;
    unsigned order = 0;
    while (((size_t)1 << order) < npages)
        order++;
    if (order < align_order)
        order = align_order;
    uintptr_t a;
    struct mem_range *r;
    struct mem_page *pg = take_or_grow(node, order, &a, &r);
    if (!pg)
        return NULL;
    size_t tail = ((size_t)1 << order) - npages;
    size_t dirty = pg->dirty; /* the tail gets what the used part cannot hold */
    if (tail) {
        struct buddy *b = &nodes[r->node]; /* the range's node: it may have been borrowed */
        spin_lock(&b->lock);
        span_free(b, r, a + (npages << MEM_PAGE_SHIFT), tail,
                  dirty > npages ? dirty - npages : 0);
        spin_unlock(&b->lock);
    }
    pg->state = MEM_PG_LARGE;
    pg->npages = (uint32_t)npages;
    pg->node = (uint16_t)r->node;
    pg->owner = NULL;
    return (void *)a;
}

void mem_pages_free_n(void *p, size_t npages)
{
    struct mem_range *r = checked_range(p, "mem_pages_free_n");
    struct mem_page *pg = &r->pages[((uintptr_t)p - r->start) >> MEM_PAGE_SHIFT];
    if (pg->state == MEM_PG_FREE)
        mem_fatal("mem: mem_pages_free_n(%p): double free", p);
    pg->state = MEM_PG_NONE;
    pg->npages = 0;
    struct buddy *b = &nodes[r->node];
    spin_lock(&b->lock);
    span_free(b, r, (uintptr_t)p, npages, npages);
    spin_unlock(&b->lock);
}

size_t mem_pages_release(unsigned node, size_t keep_pages)
{
    if (node >= MEM_MAX_NODES)
        return 0;
    struct buddy *b = &nodes[node];
    size_t released = 0;
    for (;;) {
        /* A few blocks at a time leave the lists while their memory goes back (outside the
         * lock: it is a system call hosted), then return clean. */
        struct { uintptr_t a; struct mem_range *r; unsigned order; uint32_t dirty; } batch[16];
        unsigned n = 0;
        spin_lock(&b->lock);
        for (int o = MEM_MAX_ORDER; o >= 0 && n < 16 && b->dirty_pages > keep_pages; o--) {
            struct mem_page *pg;
            while (n < 16 && b->dirty_pages > keep_pages && (pg = b->free[1][o])) {
                batch[n].dirty = pg->dirty;
                list_del(b, pg);
                b->free_pages -= (size_t)1 << o;
                struct mem_range *r = range_of_page(pg);
                batch[n].r = r;
                batch[n].a = r->start + ((size_t)(pg - r->pages) << MEM_PAGE_SHIFT);
                batch[n++].order = (unsigned)o;
            }
        }
        spin_unlock(&b->lock);
        if (!n)
            return released;
        for (unsigned i = 0; i < n; i++)
            mem_platform_release((void *)batch[i].a, MEM_PAGE_SIZE << batch[i].order);
        spin_lock(&b->lock);
        for (unsigned i = 0; i < n; i++) {
            block_free(b, batch[i].r, batch[i].a, batch[i].order, 0);
            released += batch[i].dirty;
        }
        spin_unlock(&b->lock);
    }
}

size_t mem_pages_used(unsigned node)
{
    struct buddy *b = &nodes[node];
    return __atomic_load_n(&b->total_pages, __ATOMIC_RELAXED) -
           __atomic_load_n(&b->free_pages, __ATOMIC_RELAXED);
}

size_t mem_pages_takes(unsigned node)
{
    return __atomic_load_n(&nodes[node].takes, __ATOMIC_RELAXED);
}

size_t mem_pages_dirty(unsigned node)
{
    return __atomic_load_n(&nodes[node].dirty_pages, __ATOMIC_RELAXED);
}

void mem_pages_stats(unsigned node, struct mem_node_stats *st)
{
    memset(st, 0, sizeof *st);
    if (node >= MEM_MAX_NODES)
        return;
    struct buddy *b = &nodes[node];
    spin_lock(&b->lock);
    st->total_pages = b->total_pages;
    st->free_pages = b->free_pages;
    st->dirty_pages = b->dirty_pages;
    memcpy(st->free_blocks, b->nfree, sizeof st->free_blocks);
    spin_unlock(&b->lock);
}

bool mem_pages_all_free(unsigned node)
{
    struct buddy *b = &nodes[node];
    spin_lock(&b->lock);
    bool all = b->free_pages == b->total_pages &&
               memcmp(b->nfree, b->initial, sizeof b->nfree) == 0;
    spin_unlock(&b->lock);
    return all;
}

int mem_pages_check(unsigned node, char *err, size_t errlen)
{
    struct buddy *b = &nodes[node];
    int rc = 0;
    size_t pages = 0;
#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); rc = -1; goto out; } while (0)
    spin_lock(&b->lock);
    size_t dirty = 0;
    for (unsigned o = 0; o <= MEM_MAX_ORDER; o++) {
        size_t count = 0;
        for (int d = 0; d < 2; d++) {
            struct mem_page *prev = NULL;
            for (struct mem_page *pg = b->free[d][o]; pg; prev = pg, pg = pg->next) {
                uintptr_t a = (uintptr_t)mem_page_addr(pg);
                struct mem_range *r = a ? range_of(a) : NULL;
                if (!r)
                    FAIL("order %u: block descriptor %p is in no range", o, (void *)pg);
                if (pg->state != MEM_PG_FREE || pg->order != o)
                    FAIL("order %u: block %#lx marked state %u order %u", o, a, pg->state,
                         pg->order);
                if (pg->prev != prev)
                    FAIL("order %u: block %#lx has a broken back link", o, a);
                if (a & ((MEM_PAGE_SIZE << o) - 1))
                    FAIL("order %u: block %#lx misaligned", o, a);
                if (a + (MEM_PAGE_SIZE << o) > r->end)
                    FAIL("order %u: block %#lx runs past its range", o, a);
                /* No page inside the block may head another free block (that would be overlap). */
                for (size_t i = 1; i < ((size_t)1 << o); i++)
                    if (pg[i].state == MEM_PG_FREE)
                        FAIL("order %u: block %#lx overlaps free block at page %zu", o, a, i);
                if (o < MEM_MAX_ORDER) {
                    uintptr_t bud = a ^ (MEM_PAGE_SIZE << o);
                    if (bud >= r->start && bud + (MEM_PAGE_SIZE << o) <= r->end) {
                        struct mem_page *bp = &r->pages[(bud - r->start) >> MEM_PAGE_SHIFT];
                        if (bp->state == MEM_PG_FREE && bp->order == o)
                            FAIL("order %u: block %#lx and its buddy are both free, unmerged",
                                 o, a);
                    }
                }
                if ((pg->dirty != 0) != d || pg->dirty > (1u << o))
                    FAIL("order %u: block %#lx with %u dirty pages on list %d", o, a, pg->dirty,
                         d);
                count++;
                pages += (size_t)1 << o;
                dirty += pg->dirty;
            }
        }
        if (count != b->nfree[o])
            FAIL("order %u: %zu blocks listed, counter says %zu", o, count, b->nfree[o]);
    }
    if (pages != b->free_pages)
        FAIL("%zu pages listed free, counter says %zu", pages, b->free_pages);
    if (dirty != b->dirty_pages)
        FAIL("%zu pages listed dirty, counter says %zu", dirty, b->dirty_pages);
#undef FAIL
out:
    spin_unlock(&b->lock);
    return rc;
}

/* fork() in a threaded process: the child must not inherit a lock another thread held. Taken in
 * a fixed order (the same as the allocation paths: grow, then a node, then the ranges). */
void mem_pages_fork_lock(void)
{
    spin_lock(&grow_lock);
    for (unsigned i = 0; i < MEM_MAX_NODES; i++)
        spin_lock(&nodes[i].lock);
    spin_lock(&ranges_lock);
}

void mem_pages_fork_unlock(void)
{
    spin_unlock(&ranges_lock);
    for (unsigned i = 0; i < MEM_MAX_NODES; i++)
        spin_unlock(&nodes[i].lock);
    spin_unlock(&grow_lock);
}
