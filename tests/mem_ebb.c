/* The allocators as Ebbs on two cores: each core gets its own malloc rep, objects freed on the
 * other core go back to their owner in batches and are reused by it, the page allocator rep is
 * shared by the node, a slab cache made at run time is a per-core Ebb of its own, and an idle
 * core's cached objects go back without its help (the idle handler and timer natives use too). */
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
/* Idle trimming: core 1 allocates and frees TRIM_N 64-byte objects (beyond GP_IDLE_MARK). */
#define TRIM_N 100000
static void *big[TRIM_N];
static size_t cached_after_free;
static struct ebb_timer trim_timer;
static int trim_looks;
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
    case 3: /* fill core 1's caches, then leave it idle */
        for (int i = 0; i < TRIM_N; i++)
            big[i] = MOPS(rep1)->malloc(rep1, 64);
        for (int i = 0; i < TRIM_N; i++)
            MOPS(rep1)->free(rep1, big[i]);
        cached_after_free = gp_cached_bytes(rep1);
        break;
    }
    ebb_spawn_on(0, next_step, NULL);
}

/* Core 0 looks every 20 ms, for up to 10 s, whether core 1's idle trimming has run. */
static void watch_trim(void *arg)
{
    (void)arg;
    if (gp_cached_bytes(rep1) > GP_IDLE_MARK && ++trim_looks < 500) {
        ebb_timer_start(&trim_timer, 20000000, watch_trim, NULL);
        return;
    }
    ok(gp_cached_bytes(rep1) <= GP_IDLE_MARK,
       "an idle core's caches are trimmed on their own: %zu KiB cached after its frees, %zu KiB "
       "after %d ms", cached_after_free >> 10, gp_cached_bytes(rep1) >> 10, trim_looks * 20);
    ebb_exit(40 + (atomic_load(&tap_failed) ? 1 : 0));
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
        ok(reused >= N - (int)SLAB_BATCH_SLOTS, "%d of %d objects freed on core 1 came back to core 0", reused, N);
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
        ok(reused >= N - (int)SLAB_BATCH_SLOTS, "slab cache: %d of %d objects freed remotely reused", reused, N);
        ebb_spawn_on(1, on_core1, NULL);
        break;
    }
    case 3:
        ok(cached_after_free > GP_IDLE_MARK, "core 1 caches %zu KiB of free objects after its frees",
           cached_after_free >> 10);
        watch_trim(NULL);
        break;
    }
}

void app_main(void) { ebb_spawn(next_step, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
    tap_plan(15);
#ifdef EBB_HOSTED
    tap_deadline(120);
#endif
    setenv("EBB_ARENA_MB", "256", 1);
    char *args[] = { argv[0], "cores=2", NULL };
    int rc = ebb_run(2, args);
    is(rc, 40, "the runtime exits with the test's code");
    return tap_done();
}
