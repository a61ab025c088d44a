/* Randomised stress of the general-purpose allocator: THREADS threads (each its own rep, as
 * cores are) allocate sizes from 1 B to 4 MiB with and without alignment, grow and shrink with
 * realloc, and free about a third of their blocks on another thread than the one that
 * allocated them. Every block carries a pattern checked before it is freed or moved (so an
 * overlap or a lost realloc copy shows up); at checkpoints all threads stop and every live block
 * is checked for alignment and overlap with every other. At the end everything is freed and
 * every page must be back in the buddy lists. Also: a producer whose objects another thread frees
 * gets them back (memory stays flat), a freed large block is reused for its class, and a trim gives
 * back the pages of partly used slabs whose objects are free, and hands those objects out again;
 * an idle owner's slabs are adopted by the thread that frees into them. */
#define _GNU_SOURCE
#include "mem/gp.h"
#include "mem/page.h"
#include "tap.h"
#include "attack_util.h"
#include <pthread.h>
#include <stdlib.h>

#define THREADS 4
#define SLOTS   300
#define ROUNDS  4
#define OPS     6000

struct blk { unsigned char *p; size_t n, align; uint32_t seed; };

static struct blk live[THREADS][SLOTS];
/* Mailboxes: blocks handed to another thread to free. */
static struct { int lock; struct blk b[4096]; unsigned n; } box[THREADS];
static pthread_barrier_t bar;
static atomic_int bad_pattern, bad_align, bad_usable, nulls, realloc_moves;

static uint64_t rnd(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static size_t pick_size(uint64_t *s)
{
    unsigned r = (unsigned)(rnd(s) % 100);
    if (r < 55) return 1 + rnd(s) % 128;
    if (r < 80) return 129 + rnd(s) % 4000;
    if (r < 95) return 4096 + rnd(s) % 60000;
    if (r < 99) return 65536 + rnd(s) % (1u << 20);
    return (1u << 20) + rnd(s) % (3u << 20) + 1;   /* up to 4 MiB */
}

/* Pattern: first and last 64 bytes plus a stripe every 4 KiB (cheap for big blocks). */
static void fill(struct blk *b)
{
    for (size_t i = 0; i < b->n; i += (i < 64 || i + 64 >= b->n) ? 1 : 4096)
        b->p[i] = (unsigned char)(b->seed + i * 7);
}
static int intact(const struct blk *b, size_t upto)
{
    size_t n = upto < b->n ? upto : b->n;
    for (size_t i = 0; i < n; i += (i < 64 || i + 64 >= b->n) ? 1 : 4096)
        if (b->p[i] != (unsigned char)(b->seed + i * 7))
            return 0;
    return 1;
}

static void release(struct gp *g, struct blk *b)
{
    if (!intact(b, b->n))
        atomic_fetch_add(&bad_pattern, 1);
    gp_free(g, b->p);
    b->p = NULL;
}

static void drain_box(struct gp *g, int t)
{
    spin_lock(&box[t].lock);
    for (unsigned i = 0; i < box[t].n; i++)
        release(g, &box[t].b[i]);
    box[t].n = 0;
    spin_unlock(&box[t].lock);
}

static void one_op(struct gp *g, int t, uint64_t *s)
{
    struct blk *b = &live[t][rnd(s) % SLOTS];
    unsigned r = (unsigned)(rnd(s) % 100);
    if (b->p && r < 25) {
        release(g, b);
    } else if (b->p && r < 40) {
        /* Cross-thread free: hand it to another thread's mailbox. */
        int to = (t + 1 + (int)(rnd(s) % (THREADS - 1))) % THREADS;
        spin_lock(&box[to].lock);
        if (box[to].n < 4096) {
            box[to].b[box[to].n++] = *b;
            b->p = NULL;
        }
        spin_unlock(&box[to].lock);
        if (b->p)
            release(g, b);
    } else if (b->p && r < 60) {
        size_t n = rnd(s) % 2 ? b->n * 2 + rnd(s) % 100 : b->n / 2 + 1;
        if (n > (4u << 20)) n = 4u << 20;
        unsigned char *q = gp_realloc(g, b->p, n);
        if (!q) { atomic_fetch_add(&nulls, 1); return; }
        if (q != b->p) atomic_fetch_add(&realloc_moves, 1);
        struct blk moved = *b;  /* the old block's pattern, at its new place */
        moved.p = q;
        if (!intact(&moved, n))
            atomic_fetch_add(&bad_pattern, 1);
        *b = (struct blk){ q, n, 16, 0 };
        b->seed = (uint32_t)rnd(s);
        fill(b);
    } else if (!b->p) {
        size_t n = pick_size(s), align = n <= 8 ? 8 : 16; /* what a type that fits needs */
        unsigned char *p;
        if (rnd(s) % 5 == 0) {
            align = (size_t)1 << (3 + rnd(s) % 14);   /* 8 B .. 64 KiB */
            p = gp_memalign(g, align, n);
        } else {
            p = gp_malloc(g, n);
        }
        if (!p) { atomic_fetch_add(&nulls, 1); return; }
        if ((uintptr_t)p & (align - 1))
            atomic_fetch_add(&bad_align, 1);
        if (gp_usable_size(g, p) < n)
            atomic_fetch_add(&bad_usable, 1);
        *b = (struct blk){ p, n, align, (uint32_t)rnd(s) };
        fill(b);
    }
}

/* All threads stopped: every live block against every other. */
static int cmp_blk(const void *a, const void *b)
{
    const struct blk *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}
static int overlaps;
static void check_overlap(void)
{
    static struct blk all[THREADS * (SLOTS + 4096)];
    size_t k = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < SLOTS; i++)
            if (live[t][i].p) all[k++] = live[t][i];
        for (unsigned i = 0; i < box[t].n; i++)
            all[k++] = box[t].b[i];
    }
    qsort(all, k, sizeof all[0], cmp_blk);
    for (size_t i = 1; i < k; i++)
        if (all[i - 1].p + all[i - 1].n > all[i].p)
            overlaps++;
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    struct gp *g = gp_self();
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < OPS; i++) {
            one_op(g, t, &s);
            if (i % 64 == 0) drain_box(g, t);
        }
        pthread_barrier_wait(&bar);
        if (t == 0) check_overlap();
        pthread_barrier_wait(&bar);
    }
    drain_box(g, t);
    for (int i = 0; i < SLOTS; i++)
        if (live[t][i].p) release(g, &live[t][i]);
    pthread_barrier_wait(&bar);
    drain_box(g, t);  /* late arrivals from threads that finished after our first drain */
    return NULL;
}

static atomic_int short_bad;
static void *short_lived(void *arg)
{
    (void)arg;
    struct gp *g = gp_self();
    void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = gp_malloc(g, (size_t)(i % 200) + 1);
        memset(p[i], 0xab, (size_t)(i % 200) + 1);
    }
    for (int i = 0; i < 1000; i++)
        short_bad += ((unsigned char *)p[i])[i % 200] != 0xab;
    for (int i = 0; i < 1000; i++)
        gp_free(g, p[i]);
    return NULL;
}

/* Producer and consumer: the main thread allocates, a thread of each round frees everything. */
#define PC_N 20000
static void *pc[PC_N];
static void *pc_free(void *arg)
{
    (void)arg;
    struct gp *g = gp_self();
    for (int i = 0; i < PC_N; i++)
        gp_free(g, pc[i]);
    return NULL;
}

static void producer_consumer(struct gp *g)
{
    size_t early = 0;
    int bad = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < PC_N; i++) {
            size_t n = 8 + (size_t)(i % 8) * 16;
            bad += !(pc[i] = gp_malloc(g, n));
            if (pc[i])
                memset(pc[i], round, n);
        }
        pthread_t th;
        pthread_create(&th, NULL, pc_free, NULL);
        pthread_join(th, NULL);
        if (round == 4)
            early = mem_pages_used(0);
    }
    size_t late = mem_pages_used(0);
    /* Lost frees would grow it by 1.3 MiB a round (50 MiB in all). */
    ok(!bad && late <= early + 256,
       "objects freed by another thread come back to their owner: pages in use %zu after 5 rounds, "
       "%zu after 40", early, late);
}

/* Slab adoption: the main thread allocates, then waits (idle); another thread frees everything.
 * The owner takes nothing back, so the freeing thread adopts the slabs: the objects' pages now
 * name its cache, its frees of them are local, and it reuses them instead of taking new pages.
 * Objects of adopted slabs still in the old owner's cache go to the adopter when it trims. */
#define AD_N 8000
#define AD_SZ 512
static void *ad[AD_N], *ad2[AD_N];
static struct gp *ad_rep, *ad_owner;
static int ad_left, ad_reused;
static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}
static void *ad_thread(void *arg)
{
    (void)arg;
    struct gp *g = gp_self();
    ad_rep = g;
    for (int i = 0; i < AD_N; i++)
        gp_free(g, ad[i]);
    /* Without adoption all would still be the owner's, waiting on its incoming stack. */
    struct slab_cpu *owner = &ad_owner->cls[gp_class_of(AD_SZ)];
    for (int i = 0; i < AD_N; i++) {
        struct mem_page *pg = mem_page_of(ad[i]);
        ad_left += pg->state == MEM_PG_SLAB && pg->cpu == owner;
    }
    qsort(ad, AD_N, sizeof ad[0], cmp_ptr);
    for (int i = 0; i < AD_N; i++) {
        ad2[i] = gp_malloc(g, AD_SZ);
        memset(ad2[i], 7, AD_SZ);
        ad_reused += bsearch(&ad2[i], ad, AD_N, sizeof ad[0], cmp_ptr) != NULL;
    }
    for (int i = 0; i < AD_N; i++)
        gp_free(g, ad2[i]);
    return NULL;
}

static void slab_adoption(struct gp *g)
{
    void *mine[300];
    for (int i = 0; i < AD_N; i++) {
        ad[i] = gp_malloc(g, AD_SZ);
        memset(ad[i], 1, AD_SZ);
    }
    for (int i = 0; i < 300; i++) /* freed here: they wait in this thread's cache */
        mine[i] = gp_malloc(g, AD_SZ);
    for (int i = 0; i < 300; i++)
        gp_free(g, mine[i]);
    size_t used0 = mem_pages_used(0);
    ad_owner = g;
    pthread_t th;
    pthread_create(&th, NULL, ad_thread, NULL);
    pthread_join(th, NULL);
    size_t used1 = mem_pages_used(0);
    ok(ad_left <= AD_N / 4, "an idle owner's slabs are adopted by the thread that frees into "
       "them: %d of %d freed objects' pages still name the owner", ad_left, AD_N);
    ok(ad_reused >= AD_N / 2 && used1 <= used0 + 256,
       "the adopter reuses them (%d of %d) instead of new pages: %zu pages in use before, %zu "
       "after", ad_reused, AD_N, used0, used1);
    struct slab_cpu *c = &ad_rep->cls[gp_class_of(AD_SZ)];
    uint32_t before = __atomic_load_n(&c->nfree, __ATOMIC_RELAXED);
    gp_trim(g);
    uint32_t after = __atomic_load_n(&c->nfree, __ATOMIC_RELAXED);
    ok(after > before, "objects of adopted slabs in the old owner's cache are forwarded to the "
       "adopter when it trims (%u, then %u on the adopter's list)", before, after);
}

/* A thread's depot of free objects costs at most as much memory as the objects: 100000 8-byte
 * objects freed on the thread that allocated them. */
static void depot_size(struct gp *g)
{
    enum { N = 100000 };
    void **o = malloc(N * sizeof *o);
    for (int i = 0; i < N; i++)
        o[i] = gp_malloc(g, 8);
    for (int i = 0; i < N; i++)
        gp_free(g, o[i]);
    struct slab_cpu *c = &g->cls[gp_class_of(8)];
    size_t bytes = c->depot ? MEM_PAGE_SIZE << c->dorder : 0;
    ok(c->ndepot > N / 2 && bytes <= (size_t)N * 8,
       "the depot of %d free 8-byte objects (%u of them) takes %zu KiB, no more than they do",
       N, c->ndepot, bytes >> 10);
    free(o);
}

static void large_blocks(struct gp *g)
{
    unsigned char *a = gp_malloc(g, 300000);
    size_t ua = gp_usable_size(g, a);
    ok(a && ua >= 300000 && ua <= 300000 / 4 * 5 + MEM_PAGE_SIZE,
       "a 300000-byte block is rounded up to its class by at most a quarter (%zu bytes)", ua);
    memset(a, 0x5a, ua);
    gp_free(g, a);
    unsigned char *b = gp_malloc(g, 290000);
    ok(b == a && gp_usable_size(g, b) == ua,
       "a freed large block is the rep's next block of its class (%p, then %p)", (void *)a,
       (void *)b);
    gp_free(g, b);
}

/* The pages of partly used slabs whose objects are all free go back when the cache is
 * trimmed, and those objects are handed out again later, each once: objects of SZ bytes, one in
 * KEEP kept. (5000-byte objects cover up to three pages: the middle one may go back alone.) */
static void partial_slab_pages(struct gp *g, int sz, int keep, long min_fall_kb)
{
    static unsigned char *o[8400];
    int n = (int)((8l << 20) / sz); /* 8 MiB of them: at most 8388 */
    for (int i = 0; i < n; i++)
        if ((o[i] = gp_malloc(g, (size_t)sz)))
            memset(o[i], i, (size_t)sz);
    size_t used0 = mem_pages_used(0);
    long rss0 = rss_kb();
    for (int i = 0; i < n; i++)
        if (i % keep) {
            gp_free(g, o[i]);
            o[i] = NULL;
        }
    gp_trim(g);
    long rss1 = rss_kb();
    ok(rss0 - rss1 > min_fall_kb, "%d-byte objects: a trim gives back the free pages of slabs that "
       "keep one object in %d: RSS %ld KiB, then %ld KiB", sz, keep, rss0, rss1);
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (!o[i] && !(o[i] = gp_malloc(g, (size_t)sz)))
            bad++;
        else if (i % keep)
            memset(o[i], 0xee, (size_t)sz);
    for (int i = 0; i < n; i += keep)
        for (int j = 0; j < sz; j++)
            bad += o[i][j] != (unsigned char)i;
    for (int i = 0; i < n; i++) /* an object handed out twice would lose one of these */
        memcpy(o[i], &i, sizeof i);
    for (int i = 0; i < n; i++)
        bad += memcmp(o[i], &i, sizeof i) != 0;
    size_t used1 = mem_pages_used(0);
    ok(!bad && used1 <= used0 + 32, "%d-byte objects: those of the pages given back are handed "
       "out again, each once: pages in use %zu before the frees, %zu after as many allocations; "
       "the kept objects are intact", sz, used0, used1);
    for (int i = 0; i < n; i++)
        gp_free(g, o[i]);
}

int main(void)
{
    tap_plan(22);
    tap_deadline(240);
    setenv("EBB_ARENA_MB", "2048", 1);
    struct gp *g0 = gp_self();  /* this thread's rep: makes the arena */
    struct mem_node_stats st0;
    mem_pages_stats(0, &st0);

    pthread_barrier_init(&bar, NULL, THREADS);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    is(bad_pattern, 0, "every block kept its contents until freed, across realloc too");
    is(bad_align, 0, "every block is aligned as asked (16 B by default, 8 B up to 8 B, 8 B..64 KiB explicit)");
    is(bad_usable, 0, "malloc_usable_size is at least the size asked");
    is(overlaps, 0, "no two live blocks overlap at any checkpoint");
    is(nulls, 0, "no allocation failed");
    ok(realloc_moves > 0, "realloc moved blocks (%d times) and kept their contents", realloc_moves);
    ok(gp_nreps() >= THREADS + 1, "each thread had its own rep (%u reps)", gp_nreps());

    /* A second generation of threads adopts the reps the first one left in the pool. */
    unsigned nreps = gp_nreps();
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, short_lived, NULL);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    is(gp_nreps(), nreps, "threads started after others ended reuse their reps (%u)", gp_nreps());
    is(short_bad, 0, "an adopted rep's cached objects are sound for its new thread");

    producer_consumer(g0);
    slab_adoption(g0);
    depot_size(g0);
    large_blocks(g0);
    partial_slab_pages(g0, 1000, 64, 6 * 1024);
    partial_slab_pages(g0, 5000, 8, 4 * 1024);

    /* Memory is all back once every rep has handed its cross-thread batches to their owners
     * and returned its caches; only the reps themselves stay allocated. */
    gp_trim_all();
    (void)g0;
    struct mem_node_stats st;
    mem_pages_stats(0, &st);
    size_t rep_pages = st.total_pages - st.free_pages;
    char err[256] = "";
    ok(mem_pages_check(0, err, sizeof err) == 0, "buddy invariants hold at the end: %s", err);
    size_t per_rep = st0.total_pages - st0.free_pages;  /* only g0 existed then */
    is(rep_pages, per_rep * gp_nreps(), "every page is back in the buddy lists but the %u reps' own",
       gp_nreps());
    return tap_done();
}
