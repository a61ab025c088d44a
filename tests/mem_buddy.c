/* The buddy page allocator on its own: ranges, carving of unaligned ends, random alloc/free with
 * overlap and alignment checks, the tail return of mem_pages_alloc_n, exhaustion, invariants and
 * full coalescing at the end, borrowing by a node without memory, and bad input; then the
 * large-block heap (mem/span.c) over the same node: best fit, coalescing, release, chunks back. Uses node 3 over a private mapping, so nothing
 * else in the process shares it. */
#define _GNU_SOURCE
#include "mem/page.h"
#include "mem/span.h"
#include "tap.h"
#include <sys/mman.h>

#define NODE 3
#define RANGE_MB 64

static uintptr_t base, top;
static unsigned char *owner; /* per page of the mapping: 0 free, else allocation tag */
static char err[256];

static size_t pidx(uintptr_t a) { return (a - base) >> MEM_PAGE_SHIFT; }

/* Claims pages for tag; returns 0 if any was already claimed (overlap). */
static int claim(uintptr_t a, size_t n, unsigned char tag)
{
    int okk = 1;
    for (size_t i = 0; i < n; i++) {
        if (owner[pidx(a) + i])
            okk = 0;
        owner[pidx(a) + i] = tag;
    }
    return okk;
}
static void unclaim(uintptr_t a, size_t n) { memset(owner + pidx(a), 0, n); }

static int check(void) { return mem_pages_check(NODE, err, sizeof err) == 0; }

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

/* The large-block heap: random spans never overlap and stay inside their chunk; frees coalesce
 * (everything freed is one free chunk, and the chunks go back to the buddy lists); best fit takes
 * the hole that fits exactly over a larger free span; a release leaves no dirty page. */
static void span_tests(void)
{
    enum { SLOTS = 64 };
    struct { uintptr_t a; size_t n; } live[SLOTS] = { { 0, 0 } };
    int bad = 0;
    memset(owner, 0, pidx(top)); /* the tests above leave their last tags */
    for (int i = 0; i < 20000; i++) {
        int s = (int)(rnd() % SLOTS);
        if (live[s].a) {
            unclaim(live[s].a, live[s].n);
            mem_span_free((void *)live[s].a);
            live[s].a = 0;
            continue;
        }
        size_t n = 1 + rnd() % MEM_SPAN_MAX;
        uintptr_t a = (uintptr_t)mem_span_alloc(NODE, n);
        struct mem_page *pg = a ? mem_page_of((void *)a) : NULL;
        if (!a || !claim(a, n, 1) || pg->state != MEM_PG_LARGE || pg->npages != n ||
            !mem_span_owns(pg) || (a >> MEM_PAGE_SHIFT) / MEM_SPAN_CHUNK !=
                                      ((a >> MEM_PAGE_SHIFT) + n - 1) / MEM_SPAN_CHUNK) {
            if (!bad)
                diag("span %d: %#lx of %zu pages: state %d npages %u", i, (unsigned long)a, n,
                     pg ? pg->state : -1, pg ? pg->npages : 0);
            bad++;
        }
        live[s].a = a;
        live[s].n = n;
    }
    ok(!bad, "20000 random spans of 1-%d pages: no overlap, each inside one chunk (%d bad)",
       MEM_SPAN_MAX, bad);
    for (int s = 0; s < SLOTS; s++)
        if (live[s].a) {
            unclaim(live[s].a, live[s].n);
            mem_span_free((void *)live[s].a);
        }
    is(mem_span_free_pages(NODE), MEM_SPAN_CHUNK, "all freed: the spans merged into one empty chunk");
    mem_span_trim(NODE);
    ok(mem_span_free_pages(NODE) == 0 && check() && mem_pages_all_free(NODE),
       "trimmed: the chunk is back in the buddy lists, coalesced: %s", err);

    char *a = mem_span_alloc(NODE, 100), *b = mem_span_alloc(NODE, 100), *c = mem_span_alloc(NODE, 100);
    ok(b == a + 100 * MEM_PAGE_SIZE && c == b + 100 * MEM_PAGE_SIZE, "spans are carved in order");
    mem_span_free(b);
    char *d = mem_span_alloc(NODE, 100);
    ok(d == b, "best fit: 100 pages take the 100-page hole, not the larger free rest");
    mem_span_free(a);
    mem_span_free(c);
    mem_span_free(d);
    is(mem_span_free_pages(NODE), MEM_SPAN_CHUNK, "freed around a hole, in any order: one free chunk");
    ok(mem_span_dirty(NODE) > 0, "freed spans count as dirty");
    mem_span_release(NODE, 0);
    ok(mem_span_dirty(NODE) == 0 && mem_span_free_pages(NODE) == MEM_SPAN_CHUNK,
       "after a release no free page is dirty, and the chunk is still whole");
    mem_span_trim(NODE);
}

int main(void)
{
    tap_plan(28);
    tap_deadline(120);
    size_t len = (size_t)RANGE_MB << 20;
    char *m = mmap(NULL, len + (4u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(m != MAP_FAILED, "mmap a test range of %d MiB", RANGE_MB))
        return tap_done();
    /* Deliberately unaligned at both ends: the range must be carved into smaller blocks. */
    base = ((uintptr_t)m + (4u << 20) - 1) & ~(uintptr_t)((4u << 20) - 1);
    base += 3 * MEM_PAGE_SIZE;
    top = base + len - 5 * MEM_PAGE_SIZE;
    owner = calloc(len >> MEM_PAGE_SHIFT, 1);

    is(mem_add_range(NODE, base, top), 0, "add a range with unaligned ends");
    is(mem_add_range(NODE, base + MEM_PAGE_SIZE * 100, base + MEM_PAGE_SIZE * 200), -1,
       "an overlapping range is refused");
    is(mem_add_range(NODE, base - 2 * MEM_PAGE_SIZE, base - MEM_PAGE_SIZE), -1,
       "a range too small for its own descriptors is refused");
    ok(mem_pages_alloc(NODE, MEM_MAX_ORDER + 1) == NULL, "an order beyond the maximum gets NULL");
    ok(mem_pages_alloc(MEM_MAX_NODES, 0) == NULL, "a node beyond the maximum gets NULL");

    struct mem_node_stats st;
    mem_pages_stats(NODE, &st);
    size_t total = st.total_pages;
    ok(total > (len >> MEM_PAGE_SHIFT) * 98 / 100 && st.free_pages == total,
       "all pages but the descriptors are free (%zu of %zu)", total, len >> MEM_PAGE_SHIFT);
    ok(check(), "invariants hold after adding: %s", err);
    ok(mem_pages_all_free(NODE), "all free right after adding");

    /* Random orders and counts, random frees. */
    enum { SLOTS = 512 };
    struct { uintptr_t a; size_t n; unsigned order; int kind; } live[SLOTS];
    memset(live, 0, sizeof live);
    int bad_align = 0, overlap = 0, bad_check = 0, nulls = 0;
    size_t used = 0;
    for (int op = 0; op < 40000; op++) {
        unsigned s = (unsigned)(rnd() % SLOTS);
        if (live[s].a) {
            if (live[s].kind)
                mem_pages_free_n((void *)live[s].a, live[s].n);
            else
                mem_pages_free((void *)live[s].a, live[s].order);
            unclaim(live[s].a, live[s].n);
            used -= live[s].n;
            live[s].a = 0;
        } else if (rnd() % 2) {
            unsigned order = (unsigned)(rnd() % 7);
            void *p = mem_pages_alloc(NODE, order);
            if (!p) { nulls++; continue; }
            live[s].a = (uintptr_t)p, live[s].n = (size_t)1 << order, live[s].order = order, live[s].kind = 0;
            if ((uintptr_t)p & ((MEM_PAGE_SIZE << order) - 1))
                bad_align++;
        } else {
            size_t n = 1 + rnd() % 100;
            unsigned ao = (unsigned)(rnd() % 6);
            void *p = mem_pages_alloc_n(NODE, n, ao);
            if (!p) { nulls++; continue; }
            live[s].a = (uintptr_t)p, live[s].n = n, live[s].kind = 1;
            if ((uintptr_t)p & ((MEM_PAGE_SIZE << ao) - 1))
                bad_align++;
        }
        if (live[s].a) {
            if ((uintptr_t)live[s].a < base || live[s].a + (live[s].n << MEM_PAGE_SHIFT) > top) {
                overlap++;          /* not from this range: forget it rather than track it */
                live[s].a = 0;
                continue;
            }
            if (!claim(live[s].a, live[s].n, (unsigned char)(s % 255 + 1)))
                overlap++;
            used += live[s].n;
        }
        if (op % 2000 == 0) {
            if (!check())
                bad_check++;
            mem_pages_stats(NODE, &st);
            if (st.free_pages != total - used)
                bad_check++;
        }
    }
    is(bad_align, 0, "every block is aligned to its order / requested alignment");
    is(overlap, 0, "no two live blocks overlap, all inside the range");
    is(bad_check, 0, "invariants and free counts hold throughout: %s", err);
    diag("%d allocations found no block (fragmentation near the limit)", nulls);
    for (unsigned s = 0; s < SLOTS; s++) {
        if (!live[s].a) continue;
        if (live[s].kind) mem_pages_free_n((void *)live[s].a, live[s].n);
        else mem_pages_free((void *)live[s].a, live[s].order);
    }
    ok(check(), "invariants hold after freeing everything: %s", err);
    ok(mem_pages_all_free(NODE), "every page is back and coalesced as at the start");

    /* Tails: 5 pages out of an order-3 block leave 3 pages free, given back at once. */
    mem_pages_stats(NODE, &st);
    void *p5 = mem_pages_alloc_n(NODE, 5, 0);
    struct mem_node_stats st2;
    mem_pages_stats(NODE, &st2);
    is(st.free_pages - st2.free_pages, 5, "alloc_n of 5 pages takes exactly 5");
    mem_pages_free_n(p5, 5);

    /* A node with no memory borrows from the others: the block comes from NODE's range, is
     * counted there, and goes back there. (Hosted, only node 0 can grow: node 4 cannot.) */
    mem_pages_stats(NODE, &st);
    uintptr_t bp = (uintptr_t)mem_pages_alloc(NODE + 1, 2);
    mem_pages_stats(NODE, &st2);
    ok(bp >= base && bp + 4 * MEM_PAGE_SIZE <= top && st.free_pages - st2.free_pages == 4,
       "node %d, with no memory, borrows 4 pages from node %d", NODE + 1, NODE);
    if (bp)
        mem_pages_free((void *)bp, 2);
    ok(check() && mem_pages_all_free(NODE), "the borrowed block goes back to the node that lent it");

    /* Exhaustion: single pages until NULL, then all back. */
    size_t n = 0;
    void **all = malloc(total * sizeof *all);
    while (n < total && (all[n] = mem_pages_alloc(NODE, 0)))
        n++;
    is(n, total, "exactly every free page can be allocated");
    ok(n == total && mem_pages_alloc(NODE, 0) == NULL, "then the node is empty");
    for (size_t i = 0; i < n; i++)
        mem_pages_free(all[n - 1 - i], 0);
    ok(check() && mem_pages_all_free(NODE), "all single pages coalesce back: %s", err);
    free(all);
    span_tests();
    return tap_done();
}
