/* The memory system's Ebb roots: the page allocator (a rep per NUMA node), the general-purpose
 * allocator (a rep per core: that core's struct gp) and slab caches (a rep per core each).
 * The interfaces are ebbs/malloc.ebb.h, page_allocator.ebb.h and slab_cache.ebb.h (glue by ebbgen);
 * ebbs/default.manifest binds the first two static ids to the roots defined here. */
#include "core/event.h"
#include "mem/gp.h"
#include "mem/page.h"
#include "mem/slab.h"
#include "ebbs/malloc.gen.h"
#include "ebbs/page_allocator.gen.h"
#include "ebbs/slab_cache.gen.h"
#include <string.h>

/* ---- page allocator: per node ---- */

struct pages_rep {
    const struct page_allocator *ops;
    unsigned node;
};

static void *pages_alloc(void *self, unsigned order)
{
    return mem_pages_alloc(((struct pages_rep *)self)->node, order);
}
static void pages_free(void *self, void *p, unsigned order)
{
    (void)self;
    mem_pages_free(p, order);
}
static int pages_add_range(void *self, uintptr_t start, uintptr_t end)
{
    return mem_add_range(((struct pages_rep *)self)->node, start, end);
}
static const struct page_allocator pages_ops = { pages_alloc, pages_free, pages_add_range };
static struct pages_rep pages_reps[MEM_MAX_NODES];

static void *pages_create_rep(struct ebb_root *root, unsigned core)
{
    (void)root;
    unsigned node = ebb_numa_node_of(core);
    if (node >= MEM_MAX_NODES)
        return NULL;
    pages_reps[node].ops = &pages_ops;
    pages_reps[node].node = node;
    return &pages_reps[node];
}

PAGE_ALLOCATOR_ROOT(mem_pages_root, pages_create_rep);

/* ---- general-purpose allocator: per core ---- */

/* Idle trimming: when a core's loop is idle and its rep holds more than GP_IDLE_MARK of free
 * objects (or its node more than GP_DIRTY_KEEP dirty free pages), a timer calls
 * gp_trim_idle_all every GP_IDLE_PERIOD_MS while that lasts. The timer, not the idle handler,
 * does the work: a core with nothing to do sleeps, and the idle test needs two looks a period
 * apart. */
static struct gp_idle {
    struct ebb_idle idle;
    struct ebb_timer timer;
    struct gp *g;
} gp_idle[EBB_MAX_CORES];

static void gp_idle_timer(void *arg)
{
    struct gp_idle *t = arg;
    gp_trim_idle_all();
    if (gp_cached_bytes(t->g) > GP_IDLE_MARK || gp_dirty_pages(t->g->node) > GP_DIRTY_KEEP)
        ebb_timer_start(&t->timer, GP_IDLE_PERIOD_MS * 1000000ull, gp_idle_timer, t);
}

static bool gp_idle_check(void *arg)
{
    struct gp_idle *t = arg;
    if (!ebb_timer_armed(&t->timer) && (gp_cached_bytes(t->g) > GP_IDLE_MARK ||
                                        gp_dirty_pages(t->g->node) > GP_DIRTY_KEEP))
        ebb_timer_start(&t->timer, GP_IDLE_PERIOD_MS * 1000000ull, gp_idle_timer, t);
    return false;
}

/* Runs on the faulting core, whose own rep gp_self() is. */
static void *gp_create_rep(struct ebb_root *root, unsigned core)
{
    (void)root;
    struct gp *g = gp_self();
    /* Only a core with an event loop runs idle handlers. */
    if (core < EBB_MAX_CORES && core < ebb_ncores() && !gp_idle[core].g) {
        gp_idle[core].g = g;
        gp_idle[core].idle = (struct ebb_idle){ .fn = gp_idle_check, .arg = &gp_idle[core] };
        ebb_idle_add(&gp_idle[core].idle);
    }
    return g;
}

MEM_MALLOC_ROOT(mem_gp_root, gp_create_rep);

/* ---- slab caches: per core, one Ebb each ---- */

struct slab_root {
    struct ebb_root root;
    struct slab_class cls;
};

struct slab_rep {
    const struct slab_cache *ops;
    struct slab_cpu cpu;
};

static void *slab_rep_alloc(void *self) { return slab_alloc(&((struct slab_rep *)self)->cpu); }
static void slab_rep_free(void *self, void *p)
{
    struct mem_page *pg = mem_page_of(p);
    if (!pg || pg->state != MEM_PG_SLAB ||
        ((struct slab *)pg->owner)->cls != ((struct slab_rep *)self)->cpu.cls)
        mem_fatal("mem: slab cache free(%p): not an object of this cache", p);
    slab_free(&((struct slab_rep *)self)->cpu, pg, p);
}
static const struct slab_cache slab_ops = { slab_rep_alloc, slab_rep_free };

static void *slab_create_rep(struct ebb_root *root, unsigned core)
{
    struct slab_root *sr = (struct slab_root *)root;
    uint32_t k = slab_mag_slots(&sr->cls);
    struct slab_rep *r = gp_memalign(gp_self(), 64, sizeof *r + k * sizeof(void *));
    if (!r)
        return NULL;
    r->ops = &slab_ops;
    slab_cpu_init(&r->cpu, &sr->cls, ebb_numa_node_of(core), (uint32_t)offsetof(struct slab_rep, cpu),
                  (void **)(r + 1), k);
    return r;
}

ebb_id_t slab_cache_create(size_t size)
{
    if (size == 0 || size > (1u << 20))
        return EBB_ID_NONE;
    struct slab_root *sr = gp_calloc(gp_self(), 1, sizeof *sr);
    if (!sr)
        return EBB_ID_NONE;
    slab_class_init(&sr->cls, (uint32_t)size);
    sr->root.name = "slab_cache";
    sr->root.iface = SLAB_CACHE_IFACE;
    sr->root.kind = EBB_PER_CORE;
    sr->root.create_rep = slab_create_rep;
    ebb_id_t id = ebb_id_alloc();
    if (id == EBB_ID_NONE || ebb_bind(id, &sr->root) < 0) {
        gp_free(gp_self(), sr);
        return EBB_ID_NONE;
    }
    return id;
}
