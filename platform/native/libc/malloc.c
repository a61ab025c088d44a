/* A fallback malloc family for native images: a small size-class allocator over whole pages
 * from the platform's page source, behind one lock. Every block carries a 16-byte header, so
 * free() and realloc() know its size and class. All of it is weak: an image that links the
 * general-purpose allocator's malloc front (mem/malloc.c) uses that one instead, whole. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/spinlock.h"

void *native_pages_alloc(size_t n);          /* mm.c: n pages, or NULL */
void native_pages_free(void *p, size_t n);

#define WEAK __attribute__((weak))
#define PAGE 4096u
#define NCLASS 8                /* 32, 64, ... 4096 bytes, header included */
#define CLASS_LARGE 0xffu
#define MAGIC 0xeb0c0000u

struct hdr {
    uint32_t tag;               /* MAGIC | class */
    uint32_t offset;            /* from the start of the block to this header (aligned blocks) */
    uint64_t size;              /* usable bytes */
};

static int lock;
static void *freelist[NCLASS];

static void *raw_alloc(size_t total, unsigned *cls_out)
{
    if (total <= PAGE) {
        unsigned cls = 0;
        while ((32u << cls) < total)
            cls++;
        spin_lock(&lock);
        if (!freelist[cls]) {
            char *pg = native_pages_alloc(1);
            if (!pg) {
                spin_unlock(&lock);
                return NULL;
            }
            size_t sz = 32u << cls;
            for (size_t off = 0; off + sz <= PAGE; off += sz) {
                *(void **)(pg + off) = freelist[cls];
                freelist[cls] = pg + off;
            }
        }
        void *p = freelist[cls];
        freelist[cls] = *(void **)p;
        spin_unlock(&lock);
        *cls_out = cls;
        return p;
    }
    *cls_out = CLASS_LARGE;
    return native_pages_alloc((total + PAGE - 1) / PAGE);
}

static void *alloc_aligned(size_t n, size_t align)
{
    if (n > (1ull << 46))
        return NULL;
    size_t extra = align > 16 ? align : 0;
    size_t total = n + sizeof(struct hdr) + extra;
    unsigned cls;
    char *block = raw_alloc(total, &cls);
    if (!block)
        return NULL;
    uintptr_t user = (uintptr_t)block + sizeof(struct hdr);
    if (extra)
        user = (user + align - 1) & ~(uintptr_t)(align - 1);
    struct hdr *h = (struct hdr *)user - 1;
    h->tag = MAGIC | cls;
    h->offset = (uint32_t)((char *)h - block);
    h->size = (cls == CLASS_LARGE ? (total + PAGE - 1) / PAGE * PAGE : 32u << cls) -
              (user - (uintptr_t)block);
    return (void *)user;
}

static struct hdr *header_of(void *p)
{
    struct hdr *h = (struct hdr *)p - 1;
    if ((h->tag & 0xffff0000u) != MAGIC)
        abort(); /* not from malloc, or a double free */
    return h;
}

WEAK void *malloc(size_t n) { return alloc_aligned(n, 16); }

WEAK void free(void *p)
{
    if (!p)
        return;
    struct hdr *h = header_of(p);
    unsigned cls = h->tag & 0xffu;
    char *block = (char *)h - h->offset;
    size_t total = h->size + ((uintptr_t)p - (uintptr_t)block);
    h->tag = 0;
    if (cls == CLASS_LARGE) {
        native_pages_free(block, total / PAGE);
        return;
    }
    spin_lock(&lock);
    *(void **)block = freelist[cls];
    freelist[cls] = block;
    spin_unlock(&lock);
}

WEAK size_t malloc_usable_size(void *p) { return p ? header_of(p)->size : 0; }

WEAK void *calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

WEAK void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (!n) {
        free(p);
        return NULL;
    }
    size_t have = header_of(p)->size;
    if (n <= have)
        return p;
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, have);
        free(p);
    }
    return q;
}

WEAK int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = alloc_aligned(n, align);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

WEAK void *aligned_alloc(size_t align, size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, align, n) ? NULL : p;
}
