/* The Messenger's transport: frames over TCP through the application network API (net.h), on
 * whatever network the image has (net_image(): hosted, Linux sockets or a tap device under this
 * project's stack; natively, the platform's network interface). core/msg.c is the Messenger Ebb
 * above it; everything here runs on the Messenger's core.
 *
 * Per peer node one connection, used both ways: this node dials a peer the first time it calls
 * it (retrying while the peer is not up yet, with the frames queued), and a connection a peer
 * dialled serves our calls to that peer too. A call frame is served as its own event (the method
 * may block); a reply goes to the Messenger, which completes the caller's promise.
 *
 * Every connection opens with a handshake (docs/security.md): each side sends HELLO (its wire
 * version, its node, a random nonce), then PROOF = HMAC-SHA-256(cluster key, "ebbrt-msg-proof",
 * its HELLO, the peer's HELLO). Until the peer's PROOF checks, nothing else is accepted or
 * sent; after it, the connection belongs to the node its HELLO named, and every frame on it
 * must say that node. What a peer can make us hold is bounded (ebb_msg_lim): one frame being
 * reassembled, and it must arrive within frame_timeout_ms; calls served at once; bytes queued. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/event.h"
#include "core/messenger.h"
#include "core/platform.h"
#include "core/sha256.h"
#include "net/net.h"

#define HDR sizeof(struct ebb_msg_hdr)
#define DIAL_ATTEMPTS 200    /* 200 x 25 ms: a peer may take 5 s to come up */
#define DIAL_RETRY_NS 25000000ull

#define NONCE 32
#define HELLO_LEN (HDR + 8 + NONCE)
static const char hello_magic[8] = "EBBRTMSG";

struct conn {
    struct tcp_conn *tc;    /* NULL while dialling and once closed */
    int node;               /* the peer's node: the dialled one, or the HELLO's once proven */
    int want_node;          /* dialled: the node that must answer (-1: accepted) */
    bool closed;
    bool authed;            /* the peer's PROOF checked */
    bool proof_sent;
    uint8_t my_hello[HELLO_LEN], peer_hello[HELLO_LEN];
    struct ebb_timer frame_timer; /* a partial frame (or the handshake) must complete */
    unsigned serving;       /* calls from this connection being served */
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
    bool gone;              /* forgotten (a node that is down): no address, not even cluster= */
    struct conn *c;
};

/* This node's transport state. */
static struct net *mnet;
static struct tcp_listener *listener;
static ip4_t listen_ip;     /* accept connections to this local address only; 0: any */
/* Peers by node, in pages of PEER_PAGE made when a node is first named (peers=, or a proven
 * HELLO): 2^16 nodes would be 1 MiB of table. */
#define PEER_PAGE 256
static struct peer *peer_pages[EBB_MAX_NODES / PEER_PAGE];
static struct conn *conns;
static ip4_t cluster_net;   /* cluster=: node N is at cluster_net + N + 1 */
static uint16_t cluster_port;

static const struct tcp_handlers conn_handlers;
static void conn_close(struct conn *c, int err);
static void send_hello(struct conn *c);

/* The network the Messenger uses: the image's, started on first use. NULL if it has none. */
static struct net *msg_net(void)
{
    uint64_t v;
    if (!mnet && ebb_future_block(net_image(), &v) == 0)
        mnet = (struct net *)(uintptr_t)v;
    return mnet;
}

/* node's entry; NULL if it has none (make: one is made, unless memory ran out). */
static struct peer *peer_of(unsigned node, bool make)
{
    struct peer **pg = &peer_pages[node / PEER_PAGE];
    if (!*pg && (!make || !(*pg = calloc(PEER_PAGE, sizeof **pg))))
        return NULL;
    return &(*pg)[node % PEER_PAGE];
}

/* ---- connections ---- */

static struct conn *conn_new(int node)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->node = node;
    c->want_node = node;
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

static size_t queued(struct conn *c)
{
    return iobuf_chain_len(c->txq) + (c->tc ? tcp_buffered(c->tc) : 0);
}

/* Frames wait until the handshake is done. 0, or -ENOBUFS past queue_max (frame dropped). */
static int enqueue(struct conn *c, struct iobuf *frame)
{
    if (queued(c) + iobuf_chain_len(frame) > ebb_msg_lim.queue_max) {
        iobuf_free(frame);
        return -ENOBUFS;
    }
    if (c->tc && c->authed)
        tcp_send_buffered(c->tc, frame); /* takes the frame whatever it returns */
    else
        c->txq = iobuf_chain_append(c->txq, frame);
    return 0;
}

static void conn_close(struct conn *c, int err)
{
    if (c->closed)
        return;
    c->closed = true;
    ebb_timer_cancel(&c->retry);
    ebb_timer_cancel(&c->frame_timer);
    if (c->tc) {
        tcp_set_handlers(c->tc, NULL, NULL); /* nothing more reaches c */
        tcp_close(c->tc);
        c->tc = NULL;
    }
    iobuf_free(c->txq);
    c->txq = NULL;
    free(c->rbuf);
    c->rbuf = NULL;
    struct peer *p = c->node >= 0 ? peer_of((unsigned)c->node, false) : NULL;
    if (p && p->c == c) {
        p->c = NULL;
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
    struct peer *p = peer_of((unsigned)c->node, false); /* known: conn_to dialled it */
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
    send_hello(c); /* the queued frames go once the peer has proven itself */
}

/* The connection to node, dialled if there is none. */
static struct conn *conn_to(unsigned node)
{
    struct peer *p = peer_of(node, false);
    if (p && p->c)
        return p->c;
    if ((!p || (!p->known && !p->gone)) && cluster_port && (p = peer_of(node, true))) {
        p->ip = cluster_net + node + 1;
        p->port = cluster_port;
        p->known = true;
    }
    if (!p || !p->known || !msg_net())
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
    s->c->serving--;
    if (reply && !s->c->closed)
        enqueue(s->c, reply);
    else
        iobuf_free(reply);
    conn_unref(s->c);
    free(s);
}

/* ---- the handshake ---- */

static void frame_timed_out(void *arg)
{
    struct conn *c = arg;
    EBB_MSG_STAT(frame_timeouts);
    ebb_warn("messenger: %s from node %d did not arrive in time: connection closed",
             c->authed ? "a frame" : "the handshake", c->node);
    conn_close(c, ETIMEDOUT);
}

static void proof(const uint8_t *first, const uint8_t *second, uint8_t out[SHA256_LEN])
{
    size_t klen;
    const uint8_t *key = ebb_msg_key(&klen);
    struct hmac_sha256 m;
    hmac_sha256_init(&m, key ? key : (const uint8_t *)"", klen);
    hmac_sha256_update(&m, "ebbrt-msg-proof", 15);
    hmac_sha256_update(&m, first, HELLO_LEN);
    hmac_sha256_update(&m, second, HELLO_LEN);
    hmac_sha256_final(&m, out);
}

static void send_raw(struct conn *c, const struct ebb_msg_hdr *h, const void *payload)
{
    struct iobuf *b = iobuf_alloc(HDR + h->len, 0);
    if (!b)
        return;
    uint8_t *p = iobuf_append(b, HDR + h->len);
    memcpy(p, h, HDR);
    memcpy(p + HDR, payload, h->len);
    tcp_send_buffered(c->tc, b);
}

static void send_hello(struct conn *c)
{
    struct ebb_msg_hdr h = {.len = 8 + NONCE, .type = EBB_MSG_HELLO, .version = EBB_MSG_VERSION,
                            .src = (uint16_t)ebb_node()};
    memcpy(c->my_hello, &h, HDR);
    memcpy(c->my_hello + HDR, hello_magic, 8);
    ebb_random(c->my_hello + HDR + 8, NONCE);
    send_raw(c, &h, c->my_hello + HDR);
    ebb_timer_start(&c->frame_timer, ebb_msg_lim.hello_timeout_ms * 1000000ull, frame_timed_out, c);
}

static void auth_failed(struct conn *c, const char *why)
{
    EBB_MSG_STAT(auth_failed);
    ebb_warn("messenger: connection refused: %s", why);
    if (c->tc)
        tcp_abort(c->tc), c->tc = NULL;
    conn_close(c, EACCES);
}

/* A frame before the peer has proven itself: only HELLO, then PROOF. */
static void handshake_frame(struct conn *c, const struct ebb_msg_hdr *h, const uint8_t *payload)
{
    if (h->version != EBB_MSG_VERSION) {
        EBB_MSG_STAT(version_mismatch);
        ebb_warn("messenger: node %u speaks Messenger wire version %u, this node version %u: "
                 "build both from the same sources; connection refused", h->src, h->version,
                 EBB_MSG_VERSION);
        auth_failed(c, "wire version mismatch");
        return;
    }
    if (h->type == EBB_MSG_HELLO && !c->proof_sent) {
        if (h->len != 8 + NONCE || memcmp(payload, hello_magic, 8) ||
            (c->want_node >= 0 && h->src != c->want_node)) {
            auth_failed(c, "a malformed HELLO, or not the node dialled");
            return;
        }
        memcpy(c->peer_hello, h, HDR);
        memcpy(c->peer_hello + HDR, payload, h->len);
        if (!memcmp(c->peer_hello + HDR + 8, c->my_hello + HDR + 8, NONCE)) {
            auth_failed(c, "our own HELLO sent back");
            return;
        }
        uint8_t mac[SHA256_LEN];
        proof(c->my_hello, c->peer_hello, mac);
        struct ebb_msg_hdr ph = {.len = SHA256_LEN, .type = EBB_MSG_PROOF,
                                 .version = EBB_MSG_VERSION, .src = (uint16_t)ebb_node()};
        send_raw(c, &ph, mac);
        c->proof_sent = true;
        return;
    }
    if (h->type == EBB_MSG_PROOF && c->proof_sent && h->len == SHA256_LEN) {
        uint8_t want[SHA256_LEN];
        proof(c->peer_hello, c->my_hello, want);
        if (!ebb_mem_equal_ct(want, payload, SHA256_LEN)) {
            auth_failed(c, "the peer does not have this cluster's key (key_file=)");
            return;
        }
        EBB_MSG_STAT(auth_ok);
        ebb_timer_cancel(&c->frame_timer);
        c->authed = true;
        struct ebb_msg_hdr ph;
        memcpy(&ph, c->peer_hello, HDR);
        c->node = ph.src;
        struct peer *p = peer_of((unsigned)c->node, true);
        if (p && !p->c)
            p->c = c; /* our calls to that node use it too */
        struct iobuf *q = c->txq;
        c->txq = NULL;
        if (q)
            tcp_send_buffered(c->tc, q);
        ebb_msg_node_up((unsigned)c->node);
        return;
    }
    EBB_MSG_STAT(frames_before_auth);
    auth_failed(c, "a frame before the handshake ended");
}

static void on_frame(struct conn *c, const struct ebb_msg_hdr *h, const uint8_t *payload)
{
    if (!c->authed) {
        handshake_frame(c, h, payload);
        return;
    }
    if (h->src != (unsigned)c->node || h->version != EBB_MSG_VERSION) {
        /* Bound to the proven node: a frame claiming another is not from us to trust. */
        EBB_MSG_STAT(frames_wrong_src);
        ebb_warn("messenger: a frame claiming node %u on node %d's connection: closed", h->src,
                 c->node);
        conn_close(c, EPROTO);
        return;
    }
    if (h->type == EBB_MSG_CALL) {
        if (c->serving >= ebb_msg_lim.serving_max) {
            /* Each call served may hold a stack: past the bound the caller hears EBUSY. */
            EBB_MSG_STAT(serving_refused);
            struct ebb_msg_hdr e = *h;
            e.type = EBB_MSG_ERROR;
            e.err = EBUSY;
            e.len = 0;
            e.src = (uint16_t)ebb_node();
            struct iobuf *r = ebb_msg_alloc(0);
            if (r) {
                memcpy(iobuf_prepend(r, HDR), &e, HDR);
                enqueue(c, r);
            }
            return;
        }
        struct serving *s = malloc(sizeof *s + h->len);
        if (!s)
            return; /* the caller's future stays pending; its node is out of memory */
        c->serving++;
        s->c = c;
        s->h = *h;
        memcpy(s->payload, payload, h->len);
        c->refs++;
        ebb_spawn(serve_event, s);
    } else if (h->type == EBB_MSG_REPLY || h->type == EBB_MSG_ERROR) {
        ebb_msg_reply_received((unsigned)c->node, h, payload);
    } else {
        ebb_debug("messenger: frame of unknown type %u from node %u dropped", h->type, h->src);
    }
}

/* An oversized frame: the caller (ours or theirs) hears EMSGSIZE, its bytes are skipped. */
static void oversized(struct conn *c, const struct ebb_msg_hdr *h)
{
    if (!c->authed || h->src != (unsigned)c->node) {
        auth_failed(c, "an oversized frame before the handshake ended, or from another node");
        return;
    }
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
        ebb_msg_reply_received((unsigned)c->node, &e, NULL);
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
    if (c->rlen == 0)
        EBB_MSG_STAT(partial_frames);
    memcpy(c->rbuf + c->rlen, p, n);
    c->rlen += n;
    size_t used = parse(c, c->rbuf, c->rlen);
    if (c->closed)
        return;
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
}

/* A frame begun must end within frame_timeout_ms (the handshake has its own deadline). */
static void frame_deadline(struct conn *c)
{
    if (c->closed || !c->authed)
        return;
    if (c->rlen == 0 && !c->skip)
        ebb_timer_cancel(&c->frame_timer);
    else if (!ebb_timer_armed(&c->frame_timer))
        ebb_timer_start(&c->frame_timer, ebb_msg_lim.frame_timeout_ms * 1000000ull,
                        frame_timed_out, c);
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
    frame_deadline(c);
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
    send_hello(c);
}

/* ---- the transport's entry points (core/messenger.h) ---- */

int ebb_msg_transport_send(unsigned node, struct iobuf *frame)
{
    struct conn *c = conn_to(node);
    if (!c) {
        iobuf_free(frame);
        return -EHOSTUNREACH;
    }
    if (enqueue(c, frame) < 0) {
        EBB_MSG_STAT(calls_refused_queue);
        return -ENOBUFS;
    }
    return 0;
}

int ebb_msg_transport_listen(const char *addr, uint16_t port)
{
    ip4_t ip;
    size_t klen;
    if (listener)
        return -EBUSY;
    if (ip4_parse(addr, &ip))
        return -EINVAL;
    struct net *n = msg_net();
    if (!n)
        return -ENETDOWN;
    /* Without a key anyone who reaches the port completes the handshake: allowed only on a real
     * loopback (Linux's, netif=linux). This project's stack has none: there a loopback address
     * means its own address, which the network reaches. */
    ip4_t own = net_addr(n);
    bool stack_addr = own && (own >> 24) != 127;
    if (((ip >> 24) != 127 || stack_addr) && !ebb_msg_key(&klen)) {
        ebb_warn("messenger: listening on %s needs a cluster key (key_file=PATH, a file only its "
                 "owner can read, the same on every node): refused",
                 stack_addr ? "a network interface" : addr);
        return -EACCES;
    }
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
    struct peer *p = peer_of(node, true);
    if (!p)
        return -ENOMEM;
    p->ip = ip;
    p->port = port;
    p->known = true;
    p->gone = false;
    return 0;
}

int ebb_msg_transport_cluster(const char *net, uint16_t port)
{
    ip4_t ip;
    if (ip4_parse(net, &ip) || !port)
        return -EINVAL;
    cluster_net = ip;
    cluster_port = port;
    return 0;
}

int ebb_msg_transport_connect(unsigned node)
{
    return node < EBB_MAX_NODES && conn_to(node) ? 0 : -EHOSTUNREACH;
}

void ebb_msg_transport_forget(unsigned node, int err)
{
    struct peer *p = node < EBB_MAX_NODES ? peer_of(node, true) : NULL;
    if (!p)
        return;
    p->known = false;
    p->gone = true;
    /* Connections it dialled in, not yet (or no longer) the node's, go too. */
    for (struct conn *c = conns, *next; c; c = next) {
        next = c->next;
        if (c->node == (int)node && !c->closed) {
            if (p->c == c)
                p->c = NULL;
            conn_close(c, err);
        }
    }
    p->c = NULL;
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
