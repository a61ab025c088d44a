/* Byte readers and writers: the one way wire formats are read and written (the Messenger's
 * frames, the stubs ebbgen generates, the network stack's headers).
 *
 * Both carry a sticky overrun flag instead of a result per call: a sequence of gets or puts runs
 * to its end and the caller looks once. After an overrun, gets yield zeros and NULL and puts write
 * nothing, so nothing past the buffer is ever touched. A writer may have a grow function (e.g.
 * a Messenger buffer that reallocates); without one, running out of room is an overrun. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ebb_reader {
    const uint8_t *start, *p, *end;
    bool overrun;
};

struct ebb_writer {
    uint8_t *start, *p, *end;
    bool overrun;
    /* Makes room for `need` more bytes (moving start, p and end) or returns false. */
    bool (*grow)(struct ebb_writer *w, size_t need);
    void *owner; /* for grow */
};

static inline void ebb_reader_init(struct ebb_reader *r, const void *buf, size_t n)
{
    r->start = r->p = buf;
    r->end = n ? r->p + n : r->p; /* buf may be NULL when n is 0 (NULL + 0 is undefined in C) */
    r->overrun = false;
}
static inline size_t ebb_reader_left(const struct ebb_reader *r)
{
    return (size_t)(r->end - r->p);
}
static inline size_t ebb_reader_off(const struct ebb_reader *r)
{
    return (size_t)(r->p - r->start);
}
/* All of the input was read, and no more. */
static inline bool ebb_reader_done(const struct ebb_reader *r)
{
    return !r->overrun && r->p == r->end;
}

/* The next n bytes, in place; NULL (and overrun) if fewer are left. */
static inline const void *ebb_get_span(struct ebb_reader *r, size_t n)
{
    if (r->overrun || ebb_reader_left(r) < n) {
        r->overrun = true;
        return NULL;
    }
    const void *s = r->p;
    r->p += n;
    return s;
}
static inline void ebb_get(struct ebb_reader *r, void *dst, size_t n)
{
    const void *s = ebb_get_span(r, n);
    if (s)
        memcpy(dst, s, n);
    else
        memset(dst, 0, n);
}
static inline void ebb_get_skip(struct ebb_reader *r, size_t n) { (void)ebb_get_span(r, n); }
static inline uint8_t ebb_get_u8(struct ebb_reader *r)
{
    const uint8_t *s = ebb_get_span(r, 1);
    return s ? *s : 0;
}
/* Little-endian (the Messenger's) and big-endian (network order) integers. */
static inline uint16_t ebb_get_u16(struct ebb_reader *r)
{
    const uint8_t *s = ebb_get_span(r, 2);
    return s ? (uint16_t)(s[0] | s[1] << 8) : 0;
}
static inline uint32_t ebb_get_u32(struct ebb_reader *r)
{
    const uint8_t *s = ebb_get_span(r, 4);
    if (!s)
        return 0;
    return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}
static inline uint64_t ebb_get_u64(struct ebb_reader *r)
{
    uint64_t lo = ebb_get_u32(r);
    return lo | (uint64_t)ebb_get_u32(r) << 32;
}
static inline uint16_t ebb_get_be16(struct ebb_reader *r)
{
    const uint8_t *s = ebb_get_span(r, 2);
    return s ? (uint16_t)(s[0] << 8 | s[1]) : 0;
}
static inline uint32_t ebb_get_be32(struct ebb_reader *r)
{
    const uint8_t *s = ebb_get_span(r, 4);
    return s ? (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3] : 0;
}

static inline void ebb_writer_init(struct ebb_writer *w, void *buf, size_t n)
{
    *w = (struct ebb_writer){ .start = buf, .p = buf, .end = (uint8_t *)buf + n };
}
static inline size_t ebb_writer_len(const struct ebb_writer *w)
{
    return (size_t)(w->p - w->start);
}

/* Room for the next n bytes, to be filled by the caller; NULL (and overrun) if there is none. */
static inline void *ebb_put_span(struct ebb_writer *w, size_t n)
{
    if (w->overrun || ((size_t)(w->end - w->p) < n && (!w->grow || !w->grow(w, n)))) {
        w->overrun = true;
        return NULL;
    }
    void *d = w->p;
    w->p += n;
    return d;
}
static inline void ebb_put(struct ebb_writer *w, const void *src, size_t n)
{
    void *d = ebb_put_span(w, n);
    if (d && n)
        memcpy(d, src, n);
}
static inline void ebb_put_zeros(struct ebb_writer *w, size_t n)
{
    void *d = ebb_put_span(w, n);
    if (d)
        memset(d, 0, n);
}
static inline void ebb_put_u8(struct ebb_writer *w, uint8_t v) { ebb_put(w, &v, 1); }
static inline void ebb_put_u16(struct ebb_writer *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    ebb_put(w, b, 2);
}
static inline void ebb_put_u32(struct ebb_writer *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    ebb_put(w, b, 4);
}
static inline void ebb_put_u64(struct ebb_writer *w, uint64_t v)
{
    ebb_put_u32(w, (uint32_t)v);
    ebb_put_u32(w, (uint32_t)(v >> 32));
}
static inline void ebb_put_be16(struct ebb_writer *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    ebb_put(w, b, 2);
}
static inline void ebb_put_be32(struct ebb_writer *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    ebb_put(w, b, 4);
}
