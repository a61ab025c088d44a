/* The malloc Ebb served by a bump allocator: memory is never reused (a test's lifetime is short),
 * each block has a 16-byte header with its size. */
#include "bump.h"
#include <string.h>
#include "ebbs/malloc.gen.h"

#define ARENA (48u << 20)
static uint8_t arena[ARENA] __attribute__((aligned(64)));
static size_t top;
static uint64_t mallocs;

bool bump_owns(const void *p)
{
    return (const uint8_t *)p >= arena && (const uint8_t *)p < arena + ARENA;
}
uint64_t bump_mallocs(void) { return __atomic_load_n(&mallocs, __ATOMIC_RELAXED); }

static void *b_memalign(void *self, size_t align, size_t n)
{
    (void)self;
    if (align < 16)
        align = 16;
    size_t need = (n + 16 + align + 15) & ~(size_t)15;
    size_t off = __atomic_fetch_add(&top, need, __ATOMIC_RELAXED);
    if (n > ARENA || off + need > ARENA)
        return NULL;
    uintptr_t p = ((uintptr_t)arena + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
    memcpy((void *)(p - 16), &n, sizeof n);
    __atomic_fetch_add(&mallocs, 1, __ATOMIC_RELAXED);
    return (void *)p;
}
static void *b_malloc(void *self, size_t n) { return b_memalign(self, 16, n); }
static void b_free(void *self, void *p) { (void)self, (void)p; }
static size_t b_usable(void *self, const void *p)
{
    (void)self;
    size_t n;
    memcpy(&n, (const uint8_t *)p - 16, sizeof n);
    return n;
}
static void *b_realloc(void *self, void *p, size_t n)
{
    void *q = b_malloc(self, n);
    if (q && p) {
        size_t old = b_usable(self, p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}
static const struct mem_malloc bump_ops = { b_malloc, b_free, b_realloc, b_memalign, b_usable };
static struct { const struct mem_malloc *ops; } the_bump = { &bump_ops };

static void *create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    return &the_bump;
}
MEM_MALLOC_ROOT_KIND(bump_root, EBB_SHARED, create);
