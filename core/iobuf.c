/* IOBuf: see iobuf.h. Memory behind a view is described by a struct iobuf_mem with an atomic
 * reference count (clones may be freed on other cores). iobuf_alloc() puts the buffer, the
 * iobuf_mem and the bytes in one allocation: one malloc per packet on the common path; that
 * block lives until the last view of it goes, even if the embedded struct iobuf went first. */
#include "core/iobuf.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct iobuf_mem {
    atomic_uint refs;
    void (*release)(void *arg, void *p); /* NULL: free(p) */
    void *arg;
    void *p;      /* the memory handed to release/free */
    void *block;  /* the allocation holding this iobuf_mem (and an embedded iobuf), or NULL */
};

#define IOBUF_EMBEDDED 1u /* the struct iobuf lives inside its memory's block */

static void mem_put(struct iobuf_mem *m)
{
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    void *block = m->block;
    if (m->release)
        m->release(m->arg, m->p);
    else if (m->p != block)
        free(m->p);
    free(block);
}

static void link_self(struct iobuf *b) { b->next = b->prev = b; }

struct iobuf *iobuf_alloc(size_t cap, size_t headroom)
{
    if (headroom > cap || cap > SIZE_MAX - sizeof(struct iobuf) - sizeof(struct iobuf_mem))
        return NULL;
    struct iobuf *b = malloc(sizeof *b + sizeof(struct iobuf_mem) + cap);
    if (!b)
        return NULL;
    struct iobuf_mem *m = (struct iobuf_mem *)(b + 1);
    atomic_init(&m->refs, 1);
    m->release = NULL;
    m->arg = NULL;
    m->block = b;
    m->p = b;
    link_self(b);
    b->base = (uint8_t *)(m + 1);
    b->cap = cap;
    b->data = b->base + headroom;
    b->len = 0;
    b->mem = m;
    b->flags = IOBUF_EMBEDDED;
    b->offload = (struct iobuf_offload){0};
    return b;
}

struct iobuf *iobuf_wrap_static(const void *p, size_t len)
{
    struct iobuf *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    link_self(b);
    b->base = b->data = (uint8_t *)(uintptr_t)p;
    b->cap = b->len = len;
    b->mem = NULL;
    b->flags = 0;
    b->offload = (struct iobuf_offload){0};
    return b;
}

struct iobuf *iobuf_wrap(void *p, size_t cap, size_t len, void (*release)(void *arg, void *p),
                         void *arg)
{
    if (len > cap)
        return NULL;
    struct iobuf *b = malloc(sizeof *b + sizeof(struct iobuf_mem));
    if (!b)
        return NULL;
    struct iobuf_mem *m = (struct iobuf_mem *)(b + 1);
    atomic_init(&m->refs, 1);
    m->release = release;
    m->arg = arg;
    m->p = p;
    m->block = b;
    link_self(b);
    b->base = b->data = p;
    b->cap = cap;
    b->len = len;
    b->mem = m;
    b->flags = IOBUF_EMBEDDED;
    b->offload = (struct iobuf_offload){0};
    return b;
}

struct iobuf *iobuf_take(void *p, size_t cap, size_t len)
{
    return iobuf_wrap(p, cap, len, NULL, NULL);
}

bool iobuf_is_shared(const struct iobuf *b)
{
    return !b->mem || atomic_load_explicit(&b->mem->refs, memory_order_acquire) != 1;
}

struct iobuf *iobuf_clone_one(struct iobuf *b)
{
    struct iobuf *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *b;
    c->flags = 0;
    link_self(c);
    if (c->mem)
        atomic_fetch_add_explicit(&c->mem->refs, 1, memory_order_relaxed);
    return c;
}

static void free_one(struct iobuf *b)
{
    struct iobuf_mem *m = b->mem;
    if (!(b->flags & IOBUF_EMBEDDED))
        free(b);
    if (m)
        mem_put(m);
}

/* Unlinks b from its chain (b becomes a chain of one). */
static void unlink_one(struct iobuf *b)
{
    b->prev->next = b->next;
    b->next->prev = b->prev;
    link_self(b);
}

struct iobuf *iobuf_clone(struct iobuf *chain)
{
    struct iobuf *out = NULL;
    if (!chain)
        return NULL;
    const struct iobuf *b = chain;
    do {
        struct iobuf *c = iobuf_clone_one((struct iobuf *)b);
        if (!c) {
            iobuf_free(out);
            return NULL;
        }
        out = iobuf_chain_append(out, c);
        b = b->next;
    } while (b != chain);
    return out;
}

struct iobuf *iobuf_coalesce_copy(const struct iobuf *chain, size_t headroom)
{
    size_t n = iobuf_chain_len(chain);
    if (headroom > SIZE_MAX - n)
        return NULL;
    struct iobuf *b = iobuf_alloc(headroom + n, headroom);
    if (!b)
        return NULL;
    iobuf_copy_out(chain, 0, iobuf_append(b, n), n);
    if (chain)
        b->offload = chain->offload;
    return b;
}

void iobuf_free(struct iobuf *chain)
{
    if (!chain)
        return;
    struct iobuf *b = chain->next;
    while (b != chain) {
        struct iobuf *next = b->next;
        free_one(b);
        b = next;
    }
    free_one(chain);
}

size_t iobuf_chain_len(const struct iobuf *chain)
{
    size_t n = 0;
    if (!chain)
        return 0;
    const struct iobuf *b = chain;
    do {
        n += b->len;
        b = b->next;
    } while (b != chain);
    return n;
}

size_t iobuf_chain_count(const struct iobuf *chain)
{
    size_t n = 0;
    if (!chain)
        return 0;
    const struct iobuf *b = chain;
    do {
        n++;
        b = b->next;
    } while (b != chain);
    return n;
}

struct iobuf *iobuf_chain_append(struct iobuf *a, struct iobuf *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    struct iobuf *a_tail = a->prev, *b_tail = b->prev;
    a_tail->next = b;
    b->prev = a_tail;
    b_tail->next = a;
    a->prev = b_tail;
    return a;
}

struct iobuf *iobuf_chain_pop_front(struct iobuf *chain, struct iobuf **rest)
{
    if (!chain) {
        *rest = NULL;
        return NULL;
    }
    *rest = chain->next == chain ? NULL : chain->next;
    unlink_one(chain);
    return chain;
}

struct iobuf *iobuf_chain_trim_front(struct iobuf *chain, size_t n)
{
    while (chain && n > 0) {
        if (n < chain->len) {
            iobuf_advance(chain, n);
            return chain;
        }
        n -= chain->len;
        struct iobuf *rest;
        iobuf_free(iobuf_chain_pop_front(chain, &rest));
        chain = rest;
    }
    return chain;
}

struct iobuf *iobuf_chain_trim_back(struct iobuf *chain, size_t n)
{
    while (chain && n > 0) {
        struct iobuf *tail = chain->prev;
        if (n < tail->len) {
            iobuf_retreat(tail, n);
            return chain;
        }
        n -= tail->len;
        if (tail == chain) {
            iobuf_free(chain);
            return NULL;
        }
        unlink_one(tail);
        free_one(tail);
    }
    return chain;
}

struct iobuf *iobuf_chain_split(struct iobuf *chain, size_t n, struct iobuf **rest)
{
    struct iobuf *front = NULL;
    while (chain && n > 0) {
        if (n >= chain->len) {
            struct iobuf *b = iobuf_chain_pop_front(chain, &chain);
            n -= b->len;
            front = iobuf_chain_append(front, b);
            continue;
        }
        /* Cut this buffer: the front part is a clone sharing its memory. */
        struct iobuf *c = iobuf_clone_one(chain);
        if (!c) {
            /* Out of memory: put the front back and report nothing split. */
            *rest = iobuf_chain_append(front, chain);
            return NULL;
        }
        c->len = n;
        iobuf_advance(chain, n);
        front = iobuf_chain_append(front, c);
        n = 0;
    }
    *rest = chain;
    return front;
}

size_t iobuf_copy_out(const struct iobuf *chain, size_t off, void *dst, size_t n)
{
    size_t done = 0;
    if (!chain)
        return 0;
    const struct iobuf *b = chain;
    do {
        if (off >= b->len) {
            off -= b->len;
        } else {
            size_t k = b->len - off;
            if (k > n - done)
                k = n - done;
            memcpy((uint8_t *)dst + done, b->data + off, k);
            done += k;
            off = 0;
        }
        b = b->next;
    } while (b != chain && done < n);
    return done;
}

size_t iobuf_copy_in(struct iobuf *chain, size_t off, const void *src, size_t n)
{
    size_t done = 0;
    if (!chain)
        return 0;
    struct iobuf *b = chain;
    do {
        if (off >= b->len) {
            off -= b->len;
        } else {
            size_t k = b->len - off;
            if (k > n - done)
                k = n - done;
            memcpy(b->data + off, (const uint8_t *)src + done, k);
            done += k;
            off = 0;
        }
        b = b->next;
    } while (b != chain && done < n);
    return done;
}

/* Cursor. b == NULL means the cursor is at the end of the chain. */

static void cursor_settle(struct iobuf_cursor *c)
{
    while (c->b && c->off >= c->b->len) {
        c->off -= c->b->len;
        c->b = c->b->next == c->head ? NULL : c->b->next;
    }
}

void iobuf_cursor_init(struct iobuf_cursor *c, const struct iobuf *chain)
{
    c->head = chain;
    c->b = chain;
    c->off = 0;
    c->overrun = false;
    cursor_settle(c);
}

size_t iobuf_cursor_remaining(const struct iobuf_cursor *c)
{
    if (!c->b)
        return 0;
    size_t n = c->b->len - c->off;
    for (const struct iobuf *b = c->b->next; b != c->head; b = b->next)
        n += b->len;
    return n;
}

bool iobuf_cursor_read(struct iobuf_cursor *c, void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n > 0) {
        if (!c->b) {
            memset(d, 0, n);
            c->overrun = true;
            return false;
        }
        size_t k = c->b->len - c->off;
        if (k > n)
            k = n;
        memcpy(d, c->b->data + c->off, k);
        d += k;
        n -= k;
        c->off += k;
        cursor_settle(c);
    }
    return true;
}

bool iobuf_cursor_skip(struct iobuf_cursor *c, size_t n)
{
    while (n > 0) {
        if (!c->b) {
            c->overrun = true;
            return false;
        }
        size_t k = c->b->len - c->off;
        if (k > n)
            k = n;
        n -= k;
        c->off += k;
        cursor_settle(c);
    }
    return true;
}

const uint8_t *iobuf_cursor_ptr(const struct iobuf_cursor *c, size_t n)
{
    if (!c->b || c->b->len - c->off < n)
        return NULL;
    return c->b->data + c->off;
}

uint8_t iobuf_cursor_u8(struct iobuf_cursor *c)
{
    uint8_t v;
    iobuf_cursor_read(c, &v, 1);
    return v;
}

uint16_t iobuf_cursor_be16(struct iobuf_cursor *c)
{
    uint8_t p[2];
    iobuf_cursor_read(c, p, 2);
    return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t iobuf_cursor_be32(struct iobuf_cursor *c)
{
    uint8_t p[4];
    iobuf_cursor_read(c, p, 4);
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint16_t iobuf_cursor_le16(struct iobuf_cursor *c)
{
    uint8_t p[2];
    iobuf_cursor_read(c, p, 2);
    return (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t iobuf_cursor_le32(struct iobuf_cursor *c)
{
    uint8_t p[4];
    iobuf_cursor_read(c, p, 4);
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

uint64_t iobuf_cursor_le64(struct iobuf_cursor *c)
{
    uint32_t lo = iobuf_cursor_le32(c);
    uint32_t hi = iobuf_cursor_le32(c);
    return (uint64_t)hi << 32 | lo;
}
