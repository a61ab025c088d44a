/* TLSF (see tlsf.h).
 *
 * Every block has a 16-byte header: the physically previous block and the payload size, whose
 * low bits say whether this block and the previous one are free. The payload follows, 16-byte
 * aligned; a free block keeps its free-list links there. Free blocks are kept in lists by size:
 * the first level is the power of two, the second splits each power into 16 ranges; two bitmaps
 * find the smallest non-empty list that fits in O(1). A pool ends in a zero-size used block, so
 * merging never runs past it. */
#include "reps/tlsf.h"
#include "ebbs/malloc.gen.h"
#include "ebbs/page_allocator.gen.h"
#include "mem/page.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ALIGN      16u
#define HDR        16u
#define MIN_PAYLD  16u
#define SL_LOG2    4
#define SL_COUNT   (1u << SL_LOG2)
#define SMALL      (SL_COUNT * ALIGN)   /* sizes below 256 B: first level 0, linear by 16 */
#define FL_COUNT   26                   /* payloads below 2^33 */
#define F_FREE     1u
#define F_PREVFREE 2u
#define POOL_ORDER 14                   /* 64 MiB pools */
#define MAX_POOLS  64

struct block {
    struct block *prev_phys;
    size_t size;                        /* payload bytes | F_FREE | F_PREVFREE */
    struct block *next_free, *prev_free;  /* free blocks only (in the payload) */
};

static struct {
    int lock;
    uint32_t fl_map;
    uint32_t sl_map[FL_COUNT];
    struct block *lists[FL_COUNT][SL_COUNT];
    struct { uintptr_t start, end; } pools[MAX_POOLS];
    unsigned npools;
    struct tlsf_stats st;
} H;

static size_t bsize(const struct block *b) { return b->size & ~(size_t)3; }
static char *payload(struct block *b) { return (char *)b + HDR; }
static struct block *of_payload(const void *p) { return (struct block *)((char *)p - HDR); }
static struct block *next_phys(struct block *b) { return (struct block *)(payload(b) + bsize(b)); }
static int fls_(size_t x) { return 63 - __builtin_clzll(x); }

static void mapping(size_t size, unsigned *fl, unsigned *sl)
{
    if (size < SMALL) {
        *fl = 0;
        *sl = (unsigned)(size / ALIGN);
    } else {
        int f = fls_(size);
        *sl = (unsigned)(size >> (f - SL_LOG2)) ^ SL_COUNT;
        *fl = (unsigned)(f - (SL_LOG2 + 4) + 1);
    }
}

static void list_insert(struct block *b)
{
    unsigned fl, sl;
    mapping(bsize(b), &fl, &sl);
    b->prev_free = NULL;
    b->next_free = H.lists[fl][sl];
    if (b->next_free)
        b->next_free->prev_free = b;
    H.lists[fl][sl] = b;
    H.fl_map |= 1u << fl;
    H.sl_map[fl] |= 1u << sl;
}

static void list_remove(struct block *b)
{
    unsigned fl, sl;
    mapping(bsize(b), &fl, &sl);
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        H.lists[fl][sl] = b->next_free;
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
    if (!H.lists[fl][sl]) {
        H.sl_map[fl] &= ~(1u << sl);
        if (!H.sl_map[fl])
            H.fl_map &= ~(1u << fl);
    }
}

/* The first free block of at least `size` bytes, or NULL. */
static struct block *find(size_t size)
{
    if (size >= SMALL)
        size += ((size_t)1 << (fls_(size) - SL_LOG2)) - 1; /* round up to its list's lower bound */
    unsigned fl, sl;
    mapping(size, &fl, &sl);
    if (fl >= FL_COUNT)
        return NULL;
    uint32_t sm = H.sl_map[fl] & (~0u << sl);
    if (!sm) {
        uint32_t fm = fl + 1 < 32 ? H.fl_map & (~0u << (fl + 1)) : 0;
        if (!fm)
            return NULL;
        fl = (unsigned)__builtin_ctz(fm);
        sm = H.sl_map[fl];
    }
    return H.lists[fl][__builtin_ctz(sm)];
}

static void set_free(struct block *b, bool f)
{
    struct block *n = next_phys(b);
    if (f) {
        b->size |= F_FREE;
        n->size |= F_PREVFREE;
    } else {
        b->size &= ~(size_t)F_FREE;
        n->size &= ~(size_t)F_PREVFREE;
    }
}

/* Splits b (used) so that it keeps `size` bytes; a remainder big enough becomes a free block. */
static void split(struct block *b, size_t size)
{
    size_t have = bsize(b);
    if (have < size + HDR + MIN_PAYLD)
        return;
    struct block *r = (struct block *)(payload(b) + size);
    r->size = have - size - HDR;   /* used for now; previous (b) used */
    r->prev_phys = b;
    b->size = size | (b->size & F_PREVFREE);
    next_phys(r)->prev_phys = r;
    set_free(r, true);
    /* Merge the remainder with a free successor. */
    struct block *n = next_phys(r);
    if (n->size & F_FREE) {
        list_remove(n);
        r->size = (bsize(r) + HDR + bsize(n)) | F_FREE;
        next_phys(r)->prev_phys = r;
    }
    list_insert(r);
}

static int add_pool(void)
{
    if (H.npools == MAX_POOLS)
        return -1;
    char *m;
    if (ebb_core() < EBB_MAX_CORES) {
        void *pa = page_allocator_rep(EBB_ID_PAGES);
        m = EBB_OPS(pa, struct page_allocator)->alloc(pa, POOL_ORDER);
    } else {
        m = mem_pages_alloc(0, POOL_ORDER); /* not on a core (a unit test): no Ebb calls */
    }
    if (!m)
        return -1;
    size_t len = MEM_PAGE_SIZE << POOL_ORDER;
    H.pools[H.npools].start = (uintptr_t)m;
    H.pools[H.npools].end = (uintptr_t)m + len;
    H.npools++;
    H.st.pool_bytes += len;
    struct block *b = (struct block *)m;
    b->prev_phys = NULL;
    b->size = len - 2 * HDR;  /* room for the end sentinel's header */
    struct block *end = next_phys(b);
    end->prev_phys = b;
    end->size = 0;            /* used, size 0 */
    set_free(b, true);
    list_insert(b);
    return 0;
}

static size_t adjust(size_t n)
{
    if (n > ((size_t)1 << 32))
        return 0;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    return n < MIN_PAYLD ? MIN_PAYLD : n;
}

static void *alloc_locked(size_t n)
{
    size_t size = adjust(n);
    if (!size)
        return NULL;
    struct block *b = find(size);
    if (!b && add_pool() == 0)
        b = find(size);
    if (!b)
        return NULL;
    list_remove(b);
    set_free(b, false);
    split(b, size);
    H.st.mallocs++;
    H.st.bytes_in_use += bsize(b);
    return payload(b);
}

bool tlsf_owns(const void *p)
{
    for (unsigned i = 0; i < H.npools; i++)
        if ((uintptr_t)p >= H.pools[i].start && (uintptr_t)p < H.pools[i].end)
            return true;
    return false;
}

static void free_locked(void *p)
{
    if (!tlsf_owns(p) || ((uintptr_t)p & (ALIGN - 1)))
        mem_fatal("tlsf: free(%p): pointer was not returned by the allocator", p);
    struct block *b = of_payload(p);
    if (b->size & F_FREE)
        mem_fatal("tlsf: free(%p): double free", p);
    H.st.frees++;
    H.st.bytes_in_use -= bsize(b);
    set_free(b, true);
    struct block *n = next_phys(b);
    if (n->size & F_FREE) {
        list_remove(n);
        b->size = (bsize(b) + HDR + bsize(n)) | F_FREE | (b->size & F_PREVFREE);
        next_phys(b)->prev_phys = b;
    }
    if (b->size & F_PREVFREE) {
        struct block *pv = b->prev_phys;
        list_remove(pv);
        pv->size = (bsize(pv) + HDR + bsize(b)) | F_FREE | (pv->size & F_PREVFREE);
        next_phys(pv)->prev_phys = pv;
        b = pv;
    }
    list_insert(b);
}

/* Aligned: over-allocate, then give the front back as a free block of its own (at least the
 * minimum block: hence the 48 bytes of slack). */
static void *memalign_locked(size_t align, size_t n)
{
    size_t size = adjust(n);
    if (!size || align > ((size_t)1 << 30))
        return NULL;
    char *p = alloc_locked(size + align + 3 * HDR);
    if (!p)
        return NULL;
    uintptr_t a = ((uintptr_t)p + 3 * HDR + align - 1) & ~(uintptr_t)(align - 1);
    struct block *b = of_payload(p), *nb = of_payload((void *)a);
    size_t front = (size_t)((char *)nb - payload(b));
    H.st.bytes_in_use -= bsize(b);
    nb->size = bsize(b) - front - HDR;
    nb->prev_phys = b;
    next_phys(nb)->prev_phys = nb;
    b->size = front | (b->size & F_PREVFREE);
    set_free(b, true);
    if (b->size & F_PREVFREE) {
        struct block *pv = b->prev_phys;
        list_remove(pv);
        pv->size = (bsize(pv) + HDR + bsize(b)) | F_FREE | (pv->size & F_PREVFREE);
        nb->prev_phys = pv;
        b = pv;
    }
    list_insert(b);
    split(nb, size);
    H.st.bytes_in_use += bsize(nb);
    return (void *)a;
}

static void *op_malloc(void *self, size_t n)
{
    (void)self;
    spin_lock(&H.lock);
    void *p = alloc_locked(n);
    spin_unlock(&H.lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

static void op_free(void *self, void *p)
{
    (void)self;
    spin_lock(&H.lock);
    free_locked(p);
    spin_unlock(&H.lock);
}

static size_t op_usable_size(void *self, const void *p)
{
    (void)self;
    if (!tlsf_owns(p))
        mem_fatal("tlsf: malloc_usable_size(%p): pointer was not returned by the allocator", p);
    return bsize(of_payload(p));
}

static void *op_memalign(void *self, size_t align, size_t n)
{
    (void)self;
    if (align <= ALIGN)
        return op_malloc(self, n);
    spin_lock(&H.lock);
    void *p = memalign_locked(align, n);
    spin_unlock(&H.lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

static void *op_realloc(void *self, void *p, size_t n)
{
    if (!p)
        return op_malloc(self, n);
    if (n == 0) {
        op_free(self, p);
        return NULL;
    }
    size_t have = op_usable_size(self, p);
    if (n <= have)
        return p;
    void *q = op_malloc(self, n);
    if (q) {
        memcpy(q, p, have);
        op_free(self, p);
    }
    return q;
}

static const struct mem_malloc tlsf_ops = {
    .malloc = op_malloc,
    .free = op_free,
    .realloc = op_realloc,
    .memalign = op_memalign,
    .usable_size = op_usable_size,
};

static struct { const struct mem_malloc *ops; } the_rep = { &tlsf_ops };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    return &the_rep;
}

MEM_MALLOC_ROOT_KIND(tlsf_root, EBB_SHARED, create_rep);

void tlsf_get_stats(struct tlsf_stats *st)
{
    spin_lock(&H.lock);
    *st = H.st;
    spin_unlock(&H.lock);
}

int tlsf_check(char *err, size_t errlen)
{
    int rc = 0;
    spin_lock(&H.lock);
    size_t used = 0;
    for (unsigned i = 0; i < H.npools && !rc; i++) {
        struct block *prev = NULL;
        bool prev_free = false;
        for (struct block *b = (struct block *)H.pools[i].start;; b = next_phys(b)) {
            if ((uintptr_t)b < H.pools[i].start || (uintptr_t)b >= H.pools[i].end) {
                snprintf(err, errlen, "pool %u: block %p outside the pool", i, (void *)b);
                rc = -1;
                break;
            }
            if (b->prev_phys != prev || !!(b->size & F_PREVFREE) != prev_free) {
                snprintf(err, errlen, "block %p: wrong previous block or flag", (void *)b);
                rc = -1;
                break;
            }
            if (bsize(b) == 0)
                break; /* the sentinel */
            bool f = b->size & F_FREE;
            if (f && prev_free) {
                snprintf(err, errlen, "block %p: two free neighbours left unmerged", (void *)b);
                rc = -1;
                break;
            }
            if (!f)
                used += bsize(b);
            prev = b;
            prev_free = f;
        }
    }
    if (!rc && used != H.st.bytes_in_use) {
        snprintf(err, errlen, "%zu bytes in used blocks, counter says %zu", used, H.st.bytes_in_use);
        rc = -1;
    }
    spin_unlock(&H.lock);
    return rc;
}
