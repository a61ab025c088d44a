/* libebbmalloc.so: the general-purpose allocator for unmodified Linux programs (LD_PRELOAD).
 * Each thread uses its own rep (mem_thread.c); there is no Ebb runtime in the process, so the
 * calls go straight to the rep. */
#define _GNU_SOURCE
#include "mem/gp.h"
#include "core/platform.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

extern __thread struct gp *mem_self_gp __attribute__((tls_model("initial-exec")));
extern struct gp gp_none; /* mem_self_gp before the thread's first call (mem_thread.c) */
struct gp *gp_self_slow(void);

static inline struct gp *self(void)
{
    struct gp *g = mem_self_gp;
    return __builtin_expect(g != &gp_none, 1) ? g : gp_self_slow();
}

/* What mem/ needs from the platform, without the runtime. */
void platform_console_write(const char *s, size_t n)
{
    if (write(2, s, n) < 0)
        return;
}
void platform_abort(void) { abort(); }

/* The idle trimmer (gp_trim_idle_all) runs on a thread of its own, every GP_IDLE_PERIOD_MS: an
 * idle thread never enters the allocator, so it cannot trim itself. The thread starts once the
 * process has more than TRIM_START_PAGES in use (small programs never get one), from the slow
 * path of malloc; a child of fork() starts its own. */
#define TRIM_START_PAGES 4096 /* 16 MiB */
static int trimmer_started;

static void *trimmer(void *arg)
{
    (void)arg;
    struct timespec period = { 0, GP_IDLE_PERIOD_MS * 1000000L };
    for (;;) {
        nanosleep(&period, NULL);
        gp_trim_idle_all();
    }
    return NULL;
}

static void trimmer_forked(void) { trimmer_started = 0; }

__attribute__((noinline)) static void trimmer_start(void)
{
    if (mem_pages_used(0) < TRIM_START_PAGES ||
        __atomic_exchange_n(&trimmer_started, 1, __ATOMIC_RELAXED))
        return;
    static int atfork_done;
    if (!atfork_done) {
        atfork_done = 1;
        pthread_atfork(NULL, NULL, trimmer_forked);
    }
    /* The program's signals must never be delivered to this thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 << 10);
    pthread_t t;
    pthread_create(&t, &a, trimmer, NULL);
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static inline void trimmer_check(void)
{
    if (__builtin_expect(!__atomic_load_n(&trimmer_started, __ATOMIC_RELAXED), 0))
        trimmer_start();
}

/* The slow paths, out of line so that the fast paths need no stack frame. */
__attribute__((noinline)) static void *malloc_slow(struct gp *g, size_t n)
{
    trimmer_check();
    return gp_malloc(g, n);
}
/* Another thread's object: into this thread's outgoing batch for its owner. */
__attribute__((noinline)) static void free_remote(struct gp *g, struct mem_page *pg, void *p)
{
    slab_free_remote((struct slab_cpu *)((char *)g + pg->off), pg->cpu, p);
}
__attribute__((noinline)) static void free_slow(struct gp *g, void *p)
{
    if (p)
        gp_free(g, p);
}

/* The first call of a thread: make its rep, then the normal path. Kept out of line so the
 * fast paths below need no stack frame. The fast paths fail on gp_none, so this is only
 * tested on their slow paths. */
__attribute__((noinline)) static void *malloc_first(size_t n) { return gp_malloc(gp_self_slow(), n); }
__attribute__((noinline)) static void free_first(void *p)
{
    if (p)
        gp_free(gp_self_slow(), p);
}

API void *malloc(size_t n)
{
    struct gp *g = mem_self_gp;
    if (__builtin_expect(n <= 1024 && !MEM_CHECKS, 1)) {
        /* The fast path of gp_malloc/slab_alloc, inlined. */
        struct slab_cpu *c = g->small[(n + 7) >> 3];
        void **t = c->top;
        if (__builtin_expect(t != c->mag, 1)) {
            c->top = t - 1;
            return t[-1];
        }
    }
    if (__builtin_expect(g == &gp_none, 0))
        return malloc_first(n);
    return malloc_slow(g, n);
}

API void free(void *p)
{
    struct gp *g = mem_self_gp;
    /* The fast path of gp_free/slab_free, inlined: an object of this thread's own slab. Only a
     * slab page's descriptor can hold a pointer into this rep (other states keep list links to
     * descriptors, or NULL, there), so one range check on it also checks the page's state. */
    struct mem_range *r = &mem_ranges[0];
    uintptr_t off = (uintptr_t)p - r->start;
    if (__builtin_expect(off < r->len && !MEM_CHECKS, 1)) {
        struct mem_page *pg = &r->pages[off >> MEM_PAGE_SHIFT];
        struct slab_cpu *c = pg->cpu;
        if (__builtin_expect((uintptr_t)c - (uintptr_t)g < sizeof(struct gp), 1)) {
            void **t = c->top;
            if (__builtin_expect(t != c->end, 1)) {
                *t = p;
                c->top = t + 1;
                return;
            }
        } else if (pg->state == MEM_PG_SLAB && g != &gp_none) {
            return free_remote(g, pg, p);
        }
    }
    if (__builtin_expect(g == &gp_none, 0))
        return free_first(p);
    free_slow(g, p);
}

/* glibc's malloc_trim: everything this thread's rep caches, then what idle reps cache, then the
 * free memory, back to the system. Returns 1 (memory may have been released). */
API int malloc_trim(size_t pad)
{
    (void)pad;
    gp_trim(self());
    gp_trim_idle_all();
    gp_trim_idle_all(); /* the second look trims what the first found idle */
    gp_release_all(0);
    return 1;
}

API void *calloc(size_t nmemb, size_t size) { return gp_calloc(self(), nmemb, size); }
API void *realloc(void *p, size_t n) { return gp_realloc(self(), p, n); }
API size_t malloc_usable_size(void *p) { return gp_usable_size(self(), p); }

API void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

API int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = gp_memalign(self(), align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

API void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return gp_memalign(self(), align < sizeof(void *) ? sizeof(void *) : align, n);
}

API void *memalign(size_t align, size_t n) { return aligned_alloc(align, n); }
API void *valloc(size_t n) { return gp_memalign(self(), 4096, n); }
API void *pvalloc(size_t n) { return gp_memalign(self(), 4096, (n + 4095) & ~(size_t)4095); }
API void cfree(void *p) { free(p); }
