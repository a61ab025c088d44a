/* A rep of struct sample (tests/gen/sample.ebb.h) for the Messenger tests. */
#include "tests/sample_rep.h"
#include "core/event.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void s_reset(void *self) { ((struct srep *)self)->put_sum = 0; }
static int s_on_event(void *self, int (*cb)(void *, int), void *arg) { (void)self; return cb(arg, 7); }
/* Completes later, from a timer: 2 * d after d nanoseconds (at most 1 s); EIO for d == 0xdead. */
struct later { struct ebb_timer t; ebb_promise_t p; uint64_t v; };
static void later_fire(void *arg)
{
    struct later *l = arg;
    ebb_promise_set(l->p, l->v);
    free(l);
}
static ebb_future_t s_later(void *self, uint64_t d)
{
    (void)self;
    if (d == 0xdead)
        return ebb_future_failed(EIO);
    struct later *l = calloc(1, sizeof *l);
    if (!l)
        return ebb_future_failed(ENOMEM);
    ebb_future_t f = ebb_promise_new(&l->p);
    l->v = 2 * d;
    ebb_timer_start(&l->t, d < 1000000000 ? d : 1000000000, later_fire, l);
    return f;
}
static uint64_t s_add(void *self, uint64_t a, int8_t b, bool neg)
{
    (void)self;
    return neg ? a - (uint64_t)(int64_t)b : a + (uint64_t)(int64_t)b;
}
uint64_t sample_checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
static int s_put(void *self, const void *key, size_t klen, const uint32_t *vals, uint16_t nvals)
{
    struct srep *r = self;
    r->put_sum = sample_checksum(key, klen) ^ sample_checksum((const uint8_t *)vals, nvals * 4u);
    return (int)(klen % 1000) + nvals;
}
size_t sample_get_local(const char *name, uint8_t *buf, size_t cap)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < cap; i++)
        buf[i] = (uint8_t)(name[i % (n ? n : 1)] ^ i);
    return n;
}
static size_t s_get(void *self, const char *name, uint8_t *buf, size_t cap)
{
    (void)self;
    return sample_get_local(name, buf, cap);
}
void sample_scale_local(int64_t *v, unsigned n, struct point p, enum color c)
{
    for (unsigned i = 0; i < n; i++)
        v[i] = (int64_t)((uint64_t)v[i] * (uint64_t)((int64_t)p.x + p.y + p.tag[3]) + (uint64_t)c);
}
static void s_scale(void *self, int64_t *v, unsigned n, struct point p, enum color c)
{
    (void)self;
    sample_scale_local(v, n, p, c);
}
static bool s_ping(void *self) { (void)self; return true; }
static const struct sample sample_ops = { s_reset, s_on_event, s_later, s_add, s_put, s_get, s_scale, s_ping };
static void *make_srep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    struct srep *r = calloc(1, sizeof *r);
    if (r)
        r->ops = &sample_ops;
    return r;
}
SAMPLE_ROOT(sample_root, make_srep);
