/* The Messenger's transport: frames over TCP through the application network API (net.h), on
 * whatever network the image has (net_image(): hosted, Linux sockets or a tap device under this
 * project's stack; natively, the platform's network interface). core/msg.c is the Messenger Ebb
 * above it; everything here runs on the Messenger's core.
 *
 * Per peer node one connection, used both ways: this node dials a peer the first time it calls
 * it (retrying while the peer is not up yet, with the frames queued), and a connection a peer
 * dialled serves our calls to that peer too. A call frame is served as its own event (the method
 * may block); a reply goes to the Messenger, which completes the caller's promise. What a peer
 * can make us hold is bounded: one frame of at most EBB_MSG_MAX bytes being reassembled. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/event.h"
#include "core/messenger.h"
#include "net/net.h"

#define HDR sizeof(struct ebb_msg_hdr)
#define DIAL_ATTEMPTS 200    /* 200 x 25 ms: a peer may take 5 s to come up */
#define DIAL_RETRY_NS 25000000ull

struct conn {
    struct tcp_conn *tc;    /* NULL while dialling and once closed */
    int node;               /* the peer's node, -1 until its first frame says */
    bool closed;
    unsigned refs;          /* the connection itself, a dial, call frames being served */
    unsigned attempts;
    struct ebb_timer retry;
    struct iobuf *txq;      /* frames waiting for the connection to come up */
    uint8_t *rbuf;          /* a frame's bytes so far, when it came in pieces */
    size_t rlen, rcap;
    size_t skip;            /* bytes of an oversized frame still to drop */
    struct conn *next;
};

struct peer {
    ip4_t ip;
    uint16_t port;
    bool known;
    struct conn *c;
};

/* This node's transport state. */
static struct net *mnet;
static struct tcp_listener *listener;
static ip4_t listen_ip;     /* accept connections to this local address only; 0: any */
static struct peer peers[EBB_MAX_NODES];
static struct conn *conns;

static const struct tcp_handlers conn_handlers;
static void conn_close(struct conn *c, int err);

/* The network the Messenger uses: the image's, started on first use. NULL if it has none. */
static struct net *msg_net(void)
{
    uint64_t v;
    if (!mnet && ebb_future_block(net_image(), &v) == 0)
        mnet = (struct net *)(uintptr_t)v;
    return mnet;
}

/* ---- connections ---- */

static struct conn *conn_new(int node)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->node = node;
    c->refs = 1;
    c->next = conns;
    conns = c;
    return c;
}

static void conn_unref(struct conn *c)
{
    if (--c->refs)
        return;
    for (struct conn **pp = &conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c);
}

static void enqueue(struct conn *c, struct iobuf *frame)
{
    if (c->tc)
        tcp_send_buffered(c->tc, frame); /* takes the frame whatever it returns */
    else
        c->txq = iobuf_chain_append(c->txq, frame);
}

static void conn_close(struct conn *c, int err)
{
    if (c->closed)
        return;
    c->closed = true;
    ebb_timer_cancel(&c->retry);
    if (c->tc) {
        tcp_set_handlers(c->tc, NULL, NULL); /* nothing more reaches c */
        tcp_close(c->tc);
        c->tc = NULL;
    }
    iobuf_free(c->txq);
    c->txq = NULL;
    free(c->rbuf);
    c->rbuf = NULL;
    if (c->node >= 0 && peers[c->node].c == c) {
        peers[c->node].c = NULL;
        ebb_msg_node_failed((unsigned)c->node, err);
    }
    conn_unref(c);
}

static void dial(void *arg);

static void dial_failed(struct conn *c, int err)
{
    if (c->closed)
        return;
    if (++c->attempts < DIAL_ATTEMPTS) {
        ebb_timer_start(&c->retry, DIAL_RETRY_NS, dial, c);
        return;
    }
    ebb_warn("messenger: cannot reach node %d: error %d", c->node, err);
    conn_close(c, err);
}

static ebb_future_t dial_done(void *arg, int err, uint64_t value)
{
    (void)value; /* the connection: on_connected has it already */
    struct conn *c = arg;
    if (err)
        dial_failed(c, err);
    conn_unref(c);
    return ebb_future_ready(0);
}

static void dial(void *arg)
{
    struct conn *c = arg;
    struct peer *p = &peers[c->node];
    c->refs++;
    ebb_future_drop(ebb_future_then_full(tcp_connect(mnet, p->ip, p->port, &conn_handlers, c),
                                         dial_done, c));
}

static void on_connected(void *arg, struct tcp_conn *tc)
{
    struct conn *c = arg;
    if (c->closed) {
        tcp_set_handlers(tc, NULL, NULL);
        tcp_abort(tc);
        return;
    }
    c->tc = tc;
    c->attempts = 0;
    struct iobuf *q = c->txq;
    c->txq = NULL;
    if (q)
        tcp_send_buffered(tc, q);
}

/* The connection to node, dialled if there is none. */
static struct conn *conn_to(unsigned node)
{
    struct peer *p = &peers[node];
    if (p->c)
        return p->c;
    if (!p->known || !msg_net())
        return NULL;
    p->c = conn_new((int)node);
    if (p->c)
        dial(p->c);
    return p->c;
}

/* ---- receiving ---- */

/* A call frame, served as its own event so that the method may block. */
struct serving {
    struct conn *c;
    struct ebb_msg_hdr h;
    uint64_t payload[]; /* 8-aligned for the dispatcher */
};

static void serve_event(void *arg)
{
    struct serving *s = arg;
    struct iobuf *reply = ebb_msg_serve(&s->h, (uint8_t *)s->payload);
    if (reply && !s->c->closed)
        enqueue(s->c, reply);
    else
        iobuf_free(reply);
    conn_unref(s->c);
    free(s);
}

static void on_frame(struct conn *c, const struct ebb_msg_hdr *h, const uint8_t *payload)
{
    if (c->node < 0 && h->src < EBB_MAX_NODES) {
        c->node = h->src;
        if (!peers[h->src].c)
            peers[h->src].c = c; /* our calls to that node use it too */
    }
    if (h->type == EBB_MSG_CALL) {
        struct serving *s = malloc(sizeof *s + h->len);
        if (!s)
            return; /* the caller's future stays pending; its node is out of memory */
        s->c = c;
        s->h = *h;
        memcpy(s->payload, payload, h->len);
        c->refs++;
        ebb_spawn(serve_event, s);
    } else if (h->type == EBB_MSG_REPLY || h->type == EBB_MSG_ERROR) {
        ebb_msg_reply_received(h, payload);
    } else {
        ebb_debug("messenger: frame of unknown type %u from node %u dropped", h->type, h->src);
    }
}

/* An oversized frame: the caller (ours or theirs) hears EMSGSIZE, its bytes are skipped. */
static void oversized(struct conn *c, const struct ebb_msg_hdr *h)
{
    if (h->type == EBB_MSG_CALL) {
        struct iobuf *r = ebb_msg_serve(h, NULL); /* answers EMSGSIZE */
        if (r)
            enqueue(c, r);
    } else if (h->type == EBB_MSG_REPLY || h->type == EBB_MSG_ERROR) {
        ebb_debug("messenger: reply of %u bytes from node %u dropped (max %u)", h->len, h->src,
                EBB_MSG_MAX);
        struct ebb_msg_hdr e = *h;
        e.type = EBB_MSG_ERROR;
        e.err = EMSGSIZE;
        e.len = 0;
        ebb_msg_reply_received(&e, NULL);
    }
    c->skip = h->len;
}

/* Handles the whole frames in p[0..n); returns how many bytes it used. */
static size_t parse(struct conn *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (!c->closed) {
        if (c->skip) {
            size_t k = n - off < c->skip ? n - off : c->skip;
            off += k;
            c->skip -= k;
            if (c->skip)
                break;
        }
        if (n - off < HDR)
            break;
        struct ebb_msg_hdr h;
        memcpy(&h, p + off, HDR);
        if (h.len > EBB_MSG_MAX) {
            off += HDR;
            oversized(c, &h);
            continue;
        }
        if (n - off - HDR < h.len)
            break;
        on_frame(c, &h, p + off + HDR);
        off += HDR + h.len;
    }
    return off;
}

/* Bytes in p[0..n): frames are handled in place; a frame's start that is not whole yet waits in
 * rbuf for the rest. */
static void consume(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->rlen == 0) {
        size_t used = parse(c, p, n);
        p += used;
        n -= used;
        if (c->closed || n == 0)
            return;
    }
    if (c->rcap - c->rlen < n) {
        size_t cap = c->rcap ? c->rcap : 65536;
        while (cap - c->rlen < n)
            cap *= 2;
        uint8_t *nb = realloc(c->rbuf, cap);
        if (!nb) {
            conn_close(c, ENOMEM);
            return;
        }
        c->rbuf = nb;
        c->rcap = cap;
    }
    memcpy(c->rbuf + c->rlen, p, n);
    c->rlen += n;
    size_t used = parse(c, c->rbuf, c->rlen);
    if (c->closed)
        return;
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
}

static void on_receive(void *arg, struct tcp_conn *tc, struct iobuf *data)
{
    (void)tc;
    struct conn *c = arg;
    c->refs++; /* c may be closed below; it is freed at the end at the earliest */
    const struct iobuf *b = data;
    do {
        if (!c->closed && b->len)
            consume(c, b->data, b->len);
        b = b->next;
    } while (b != data);
    iobuf_free(data);
    conn_unref(c);
}

static void on_closed(void *arg, struct tcp_conn *tc)
{
    (void)tc;
    conn_close(arg, ECONNRESET);
}

static void on_aborted(void *arg, struct tcp_conn *tc, int err)
{
    (void)tc, (void)err;
    struct conn *c = arg;
    c->tc = NULL; /* the handle is gone */
    conn_close(c, ECONNRESET);
}

static const struct tcp_handlers conn_handlers = {
    .connected = on_connected, .receive = on_receive, .closed = on_closed,
    .aborted = on_aborted,
};

static void on_accept(void *arg, struct tcp_conn *tc)
{
    (void)arg;
    ip4_t lip;
    tcp_addrs(tc, &lip, NULL, NULL, NULL);
    struct conn *c = listen_ip && lip != listen_ip ? NULL : conn_new(-1);
    if (!c) {
        tcp_abort(tc);
        return;
    }
    c->tc = tc;
    tcp_set_handlers(tc, &conn_handlers, c);
}

/* ---- the transport's entry points (core/messenger.h) ---- */

int ebb_msg_transport_send(unsigned node, struct iobuf *frame)
{
    struct conn *c = conn_to(node);
    if (!c) {
        iobuf_free(frame);
        return -EHOSTUNREACH;
    }
    enqueue(c, frame);
    return 0;
}

int ebb_msg_transport_listen(const char *addr, uint16_t port)
{
    ip4_t ip;
    if (listener)
        return -EBUSY;
    if (ip4_parse(addr, &ip))
        return -EINVAL;
    struct net *n = msg_net();
    if (!n)
        return -ENETDOWN;
    listener = tcp_listen(n, port, on_accept, NULL);
    if (!listener)
        return -errno;
    /* This project's stack has no loopback: there, a loopback address means its own address. */
    listen_ip = net_addr(n) && (ip >> 24) == 127 ? 0 : ip;
    return 0;
}

int ebb_msg_transport_peer(unsigned node, const char *addr, uint16_t port)
{
    ip4_t ip;
    if (ip4_parse(addr, &ip))
        return -EINVAL;
    peers[node].ip = ip;
    peers[node].port = port;
    peers[node].known = true;
    return 0;
}

void ebb_msg_transport_stop(void)
{
    if (listener) {
        tcp_listener_close(listener);
        listener = NULL;
    }
    while (conns) {
        struct conn *c = conns;
        if (c->closed) { /* still referenced by a dial or a call being served: unlink it only */
            conns = c->next;
            c->next = NULL;
            continue;
        }
        conn_close(c, ECONNRESET);
    }
}
