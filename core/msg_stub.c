/* The runtime side of the stubs ebbgen generates (docs/ebbgen.md): the buffer a call or a reply
 * is written into, the wire rules for buffers and strings, and the dispatch of a call to the
 * generated routine that serves one method. */
#include "core/messenger.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"

#define FIRST_ROOM 256

/* A Messenger writer owns an iobuf (owner) whose tailroom it fills; growing copies into a
 * bigger one, up to EBB_MSG_MAX. owner NULL after a failed allocation: out of memory. */
static bool msg_grow(struct ebb_writer *w, size_t need)
{
    size_t len = ebb_writer_len(w);
    if (need > EBB_MSG_MAX - len)
        return false;
    size_t room = (size_t)(w->end - w->start) * 2;
    room = room < len + need ? len + need : room > EBB_MSG_MAX ? EBB_MSG_MAX : room;
    struct iobuf *b = ebb_msg_alloc(room);
    if (b && len)
        memcpy(b->data, w->start, len);
    iobuf_free(w->owner);
    w->owner = b;
    if (!b)
        return false;
    w->start = b->data;
    w->p = b->data + len;
    w->end = b->data + room;
    return true;
}

void ebb_msg_writer(struct ebb_writer *w)
{
    *w = (struct ebb_writer){ .grow = msg_grow, .overrun = false };
    if (!msg_grow(w, FIRST_ROOM))
        w->overrun = true;
}

/* The written buffer (NULL with *err set if the writer overran). */
static struct iobuf *msg_take(struct ebb_writer *w, int *err)
{
    struct iobuf *b = w->owner;
    if (w->overrun) {
        *err = b ? EMSGSIZE : ENOMEM;
        iobuf_free(b);
        return NULL;
    }
    iobuf_append(b, ebb_writer_len(w));
    return b;
}

static void put_align(struct ebb_writer *w)
{
    ebb_put_zeros(w, EBB_MSG_ALIGN(ebb_writer_len(w)) - ebb_writer_len(w));
}

static void get_align(struct ebb_reader *r)
{
    ebb_get_skip(r, EBB_MSG_ALIGN(ebb_reader_off(r)) - ebb_reader_off(r));
}

/* count elements of esize bytes, in bytes; more than a message holds is an overrun. */
static size_t buf_bytes(uint64_t count, size_t esize, bool *overrun)
{
    if (count > EBB_MSG_MAX / esize) {
        *overrun = true;
        return 0;
    }
    return (size_t)count * esize;
}

void ebb_msg_put_buf(struct ebb_writer *w, const void *p, uint64_t count, size_t esize)
{
    put_align(w);
    ebb_put(w, p, buf_bytes(count, esize, &w->overrun));
}

void ebb_msg_put_str(struct ebb_writer *w, const char *s)
{
    size_t n = strlen(s) + 1;
    put_align(w);
    ebb_put_u32(w, n > EBB_MSG_MAX ? 0 : (uint32_t)n);
    ebb_put(w, s, n > EBB_MSG_MAX ? 0 : n);
    if (n > EBB_MSG_MAX)
        w->overrun = true;
}

void *ebb_msg_get_buf(struct ebb_reader *r, uint64_t count, size_t esize)
{
    get_align(r);
    /* The payload is the Messenger's own writable copy: the callee may use it in place. */
    return (void *)ebb_get_span(r, buf_bytes(count, esize, &r->overrun));
}

char *ebb_msg_get_str(struct ebb_reader *r)
{
    get_align(r);
    uint32_t n = ebb_get_u32(r);
    char *s = (char *)ebb_get_span(r, n);
    if (!s || n == 0 || s[n - 1] != 0) {
        r->overrun = true;
        return NULL;
    }
    return s;
}

/* Room for an output buffer in the reply, filled from init (or zeros). */
static size_t put_out(struct ebb_writer *w, const void *init, uint64_t count, size_t esize)
{
    put_align(w);
    size_t off = ebb_writer_len(w);
    size_t n = buf_bytes(count, esize, &w->overrun);
    if (init)
        ebb_put(w, init, n);
    else
        ebb_put_zeros(w, n);
    return off;
}

size_t ebb_msg_put_out(struct ebb_writer *w, uint64_t count, size_t esize)
{
    return put_out(w, NULL, count, esize);
}

size_t ebb_msg_get_inout(struct ebb_reader *r, struct ebb_writer *w, uint64_t count, size_t esize)
{
    return put_out(w, ebb_msg_get_buf(r, count, esize), count, esize);
}

void ebb_msg_get_out(struct ebb_reader *r, void *dst, uint64_t count, size_t esize)
{
    get_align(r);
    ebb_get(r, dst, buf_bytes(count, esize, &r->overrun));
}

void ebb_msg_reply_begin(struct ebb_reader *r, const uint8_t *p, size_t n, uint64_t *result)
{
    ebb_reader_init(r, p, p ? n : 0);
    *result = ebb_get_u64(r);
}

int ebb_msg_result(struct ebb_writer *w, uint64_t v)
{
    memcpy(w->start, &v, 8); /* the slot ebb_msg_dispatch reserved */
    return 0;
}

int ebb_msg_result_future(struct ebb_writer *w, ebb_future_t f)
{
    uint64_t v;
    /* Served asynchronously: this event waits (the Messenger serves each call as its own event). */
    int err = ebb_future_block(f, &v);
    return err ? -err : ebb_msg_result(w, v);
}

ebb_future_t ebb_msg_call(unsigned node, ebb_id_t id, uint64_t iface, unsigned method,
                          struct ebb_writer *w, ebb_msg_unpack_fn unpack, void *arg)
{
    int err = ENOMEM;
    struct iobuf *b = msg_take(w, &err);
    if (!b || (unpack && !arg)) {
        iobuf_free(b);
        uint64_t v;
        if (unpack)
            err = unpack(arg, err, NULL, 0, &v);
        return ebb_future_failed(err);
    }
    return ebb_messenger_call(node, id, iface, method, b, unpack, arg);
}

int ebb_msg_dispatch(const char *iface, const struct ebb_msg_method *methods, unsigned n,
                     ebb_id_t id, unsigned method, uint8_t *args, size_t len, struct iobuf **reply)
{
    int err = -ENOSYS;
    struct ebb_reader r;
    struct ebb_writer w;
    ebb_reader_init(&r, args, len);
    ebb_msg_writer(&w);
    ebb_put_zeros(&w, 8); /* the result */
    if (method < n && methods[method].serve)
        err = methods[method].serve(id, &r, &w);
    /* Whole arguments but no room for the reply: its output buffers are too big. */
    if (w.overrun && (!err || (err == -EBADMSG && ebb_reader_done(&r))))
        err = w.owner ? -EMSGSIZE : -ENOMEM;
    if (err) {
        iobuf_free(w.owner);
        /* Not news in itself (a future that timed out, a caller's bad arguments). */
        ebb_debug("messenger: call of %s.%s failed: %s", iface,
                  method < n && methods[method].name ? methods[method].name : "?",
                  strerror(-err));
        return err;
    }
    iobuf_append(w.owner, ebb_writer_len(&w));
    *reply = w.owner;
    return 0;
}
