/* malloc() and friends for an image: each call goes to the malloc Ebb (EBB_ID_MALLOC) of the
 * calling core, whichever root the image binds (the default: mem/gp.c). Code that runs on no
 * core (hosted: before the runtime starts, or on threads it did not start) uses its thread's
 * general-purpose rep directly.
 *
 * Every image has it: it is in both libraries, so binding another root to EBB_ID_MALLOC (in the
 * image's manifest) is all it takes to replace the allocator. Not under AddressSanitizer, which
 * must own the malloc family to do its work. */
#ifndef __SANITIZE_ADDRESS__
#include "mem/gp.h"
#include "ebbs/malloc.gen.h"
#include <errno.h>
#include <string.h>

#define OPS(r) EBB_OPS(r, struct mem_malloc)

/* An image whose binding table does not name EBB_ID_MALLOC (a test with a table of its own)
 * gets the default allocator, bound at run time on the first miss. */
__attribute__((noinline)) static void *core_rep_miss(void)
{
    if (!ebb_root_of(EBB_ID_MALLOC))
        ebb_bind(EBB_ID_MALLOC, &mem_gp_root);
    return ebb_fault(EBB_ID_MALLOC, MEM_MALLOC_IFACE);
}

static inline void *core_rep(void)
{
    if (ebb_core() >= EBB_MAX_CORES)
        return NULL;
    void *r = EBB_LTT[EBB_ID_MALLOC]; /* the fast path of mem_malloc_rep(), with our miss */
    return __builtin_expect(r != NULL, 1) ? r : core_rep_miss();
}

void *malloc(size_t n)
{
    void *r = core_rep();
    return r ? OPS(r)->malloc(r, n) : gp_malloc(gp_self(), n);
}

void free(void *p)
{
    if (!p)
        return;
    void *r = core_rep();
    /* Memory from before a replacement allocator took over stays the default one's. */
    if (r && (OPS(r) == &gp_malloc_ops || !gp_owns(p)))
        OPS(r)->free(r, p);
    else
        gp_free(gp_self(), p);
}

void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    /* Through the rep, not malloc(): gcc would turn malloc + memset back into calloc. */
    void *r = core_rep();
    void *p = r ? OPS(r)->malloc(r, n) : gp_malloc(gp_self(), n);
    if (p)
        memset(p, 0, n);
    return p;
}

size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    void *r = core_rep();
    if (r && (OPS(r) == &gp_malloc_ops || !gp_owns(p)))
        return OPS(r)->usable_size(r, p);
    return gp_usable_size(gp_self(), p);
}

void *realloc(void *p, size_t n)
{
    void *r = core_rep();
    if (!r)
        return gp_realloc(gp_self(), p, n);
    if (!p || OPS(r) == &gp_malloc_ops || !gp_owns(p))
        return OPS(r)->realloc(r, p, n);
    /* Moving a default-allocator block into the replacement. */
    if (n == 0) {
        free(p);
        return NULL;
    }
    void *q = OPS(r)->malloc(r, n);
    if (q) {
        size_t have = gp_usable_size(gp_self(), p);
        memcpy(q, p, n < have ? n : have);
        gp_free(gp_self(), p);
    }
    return q;
}

static void *aligned(size_t align, size_t n)
{
    void *r = core_rep();
    return r ? OPS(r)->memalign(r, align, n) : gp_memalign(gp_self(), align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = aligned(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(align < sizeof(void *) ? sizeof(void *) : align, n);
}

void *memalign(size_t align, size_t n) { return aligned_alloc(align, n); }
void *valloc(size_t n) { return aligned(4096, n); }
void *pvalloc(size_t n) { return aligned(4096, (n + 4095) & ~(size_t)4095); }
#endif
