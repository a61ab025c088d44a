/* The allocators as Ebbs on two cores: each core gets its own malloc rep, objects freed on the
 * other core go back to their owner in batches and are reused by it, the page allocator rep is
 * shared by the node, and a slab cache made at run time is a per-core Ebb of its own. */
#include "core/ebb.h"
#include "core/event.h"
#include "ebbs/malloc.gen.h"
#include "ebbs/page_allocator.gen.h"
#include "ebbs/slab_cache.gen.h"
#include "mem/gp.h"
#include "tap.h"

#define N 5000
#define MOPS(r) EBB_OPS(r, struct mem_malloc)

static void *objs[N];
static void *rep0, *rep1, *pages1;
static ebb_id_t cache;
static int step;
static void next_step(void *arg);

static int cmp(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void on_core1(void *arg)
{
    (void)arg;
    rep1 = mem_malloc_rep(EBB_ID_MALLOC);
    pages1 = page_allocator_rep(EBB_ID_PAGES);
    ok(rep1 == gp_self(), "core 1's malloc rep is its own general-purpose rep");
    switch (step) {
    case 1:
        for (int i = 0; i < N; i++)
            MOPS(rep1)->free(rep1, objs[i]);
        break;
    case 2: {
        void *sr = slab_cache_rep(cache);
        for (int i = 0; i < N; i++)
            EBB_OPS(sr, struct slab_cache)->free(sr, objs[i]);
        break;
    }
    }
    ebb_spawn_on(0, next_step, NULL);
}

static void next_step(void *arg)
{
    (void)arg;
    switch (step++) {
    case 0:
        ok(ebb_root_of(EBB_ID_MALLOC) == &mem_gp_root, "EBB_ID_MALLOC is bound to the default root");
        rep0 = mem_malloc_rep(EBB_ID_MALLOC);
        ok(rep0 == gp_self(), "core 0's malloc rep is its own general-purpose rep");
        for (int i = 0; i < N; i++)
            objs[i] = MOPS(rep0)->malloc(rep0, 64);
        ebb_spawn_on(1, on_core1, NULL);
        break;
    case 1: {
        ok(rep1 && rep1 != rep0, "the two cores have different reps");
        ok(pages1 && pages1 == page_allocator_rep(EBB_ID_PAGES), "both cores share the node's page allocator rep");
        /* Core 1 freed core 0's objects: they went back to core 0 in batches (all but the last,
         * partial one); core 0 reuses them, after the fresh objects its array still holds. */
        qsort(objs, N, sizeof objs[0], cmp);
        int reused = 0;
        for (int i = 0; i < N + 512; i++) {
            void *p = MOPS(rep0)->malloc(rep0, 64);
            if (bsearch(&p, objs, N, sizeof objs[0], cmp))
                reused++;
        }
        ok(reused >= N - SLAB_REMOTE_BATCH, "%d of %d objects freed on core 1 came back to core 0", reused, N);
        void *pa = page_allocator_rep(EBB_ID_PAGES);
        void *blk = EBB_OPS(pa, struct page_allocator)->alloc(pa, 3);
        ok(blk && ((uintptr_t)blk & 32767) == 0, "the page allocator Ebb hands out aligned blocks");
        EBB_OPS(pa, struct page_allocator)->free(pa, blk, 3);
        cache = slab_cache_create(48);
        ok(cache != EBB_ID_NONE, "a slab cache Ebb gets a dynamic id");
        void *sr = slab_cache_rep(cache);
        int misaligned = 0;
        for (int i = 0; i < N; i++) {
            objs[i] = EBB_OPS(sr, struct slab_cache)->alloc(sr);
            misaligned += objs[i] == NULL || ((uintptr_t)objs[i] & 15);
        }
        is(misaligned, 0, "the cache hands out 16-byte aligned 48-byte objects");
        ebb_spawn_on(1, on_core1, NULL);
        break;
    }
    case 2: {
        void *sr = slab_cache_rep(cache);
        qsort(objs, N, sizeof objs[0], cmp);
        int reused = 0;
        for (int i = 0; i < N + 512; i++) {
            void *p = EBB_OPS(sr, struct slab_cache)->alloc(sr);
            reused += bsearch(&p, objs, N, sizeof objs[0], cmp) != NULL;
        }
        ok(reused >= N - SLAB_REMOTE_BATCH, "slab cache: %d of %d objects freed remotely reused", reused, N);
        ebb_exit(40 + (atomic_load(&tap_failed) ? 1 : 0));
        break;
    }
    }
}

void app_main(void) { ebb_spawn(next_step, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
    tap_plan(12);
#ifdef EBB_HOSTED
    tap_deadline(120);
#endif
    setenv("EBB_ARENA_MB", "256", 1);
    char *args[] = { argv[0], "cores=2", NULL };
    int rc = ebb_run(2, args);
    is(rc, 40, "the runtime exits with the test's code");
    return tap_done();
}
