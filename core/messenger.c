/* The hosted Messenger: frames over TCP between node processes (one Linux process per node).
 *
 * One shared rep per node; all its sockets are watched by the core that built it (calls made on
 * other cores are handed to that core with ebb_spawn_on). Per peer node one connection, used both
 * ways: this node dials a peer the first time it calls it (retrying while the peer is not up yet,
 * with the frames queued), and a connection a peer dialled serves our calls to that peer too.
 * A call frame is served as its own event (the method may block); a reply completes the caller's
 * promise. See core/messenger.h for the wire format. */
#define _GNU_SOURCE
#include "core/messenger.h"
#include "core/config.h"
#include "core/event.h"
#include "ebb_hosted.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR sizeof(struct ebb_msg_hdr)
#define DIAL_ATTEMPTS 200    /* 200 x 25 ms: a peer may take 5 s to come up */
#define DIAL_RETRY_NS 25000000ull

struct mrep;

struct conn {
    struct mrep *m;
    int fd;
    int node;               /* the peer's node, -1 until its first frame says */
    bool connecting, want_out, closed;
    unsigned refs;          /* the watch, plus call frames being served */
    unsigned attempts;
    struct ebb_timer retry;
    struct iobuf *txq;      /* frames not yet written */
    uint8_t *rbuf;          /* bytes read, not yet parsed */
    size_t rlen, rcap;
    size_t skip;            /* bytes of an oversized frame still to drop */
    struct conn *next;
};

struct peer {
    char addr[64];
    uint16_t port;
    bool known;
    struct conn *c;
};

struct pending {
    uint32_t seq;
    unsigned node;
    uint64_t iface;
    ebb_promise_t p;
    ebb_msg_unpack_fn unpack;
    void *arg;
    struct pending *next;
};

#define NPEND 256
struct mrep {
    const struct messenger *ops;
    unsigned core;
    int lfd;
    struct peer peers[EBB_MAX_NODES];
    struct conn *conns;
    struct pending *pend[NPEND];
    uint32_t seq;
};

static void conn_event(void *arg, uint32_t events);
static void conn_close(struct conn *c, int err);

/* ---- calls ---- */

static void fail_call(ebb_promise_t p, ebb_msg_unpack_fn unpack, void *arg, int err)
{
    uint64_t v = 0;
    if (unpack)
        err = unpack(arg, err, NULL, 0, &v);
    ebb_promise_fail(p, err);
}

static struct pending *pending_take(struct mrep *m, uint32_t seq)
{
    for (struct pending **pp = &m->pend[seq % NPEND]; *pp; pp = &(*pp)->next) {
        if ((*pp)->seq == seq) {
            struct pending *pd = *pp;
            *pp = pd->next;
            return pd;
        }
    }
    return NULL;
}

/* A reply (or error) frame for one of our calls. */
static void complete(struct mrep *m, const struct ebb_msg_hdr *h, const uint8_t *payload)
{
    struct pending *pd = pending_take(m, h->seq);
    if (!pd) {
        ebb_msg_log("messenger: reply from node %u to unknown call %u dropped", h->src, h->seq);
        return;
    }
    int err = 0;
    if (h->type == EBB_MSG_ERROR)
        err = h->err > 0 ? h->err : EPROTO;
    else if (h->iface != pd->iface)
        err = EPROTO;
    uint64_t v = 0;
    if (pd->unpack)
        err = pd->unpack(pd->arg, err, err ? NULL : payload, err ? 0 : h->len, &v);
    else if (!err && h->len != 8)
        err = EBADMSG;
    else if (!err)
        memcpy(&v, payload, 8);
    if (err)
        ebb_promise_fail(pd->p, err);
    else
        ebb_promise_set(pd->p, v);
    free(pd);
}

static void fail_node(struct mrep *m, int node, int err)
{
    for (unsigned i = 0; i < NPEND; i++) {
        for (struct pending **pp = &m->pend[i]; *pp;) {
            struct pending *pd = *pp;
            if ((int)pd->node == node) {
                *pp = pd->next;
                fail_call(pd->p, pd->unpack, pd->arg, err);
                free(pd);
            } else {
                pp = &pd->next;
            }
        }
    }
}

/* ---- connections ---- */

static void watch(struct conn *c)
{
    uint32_t ev = EPOLLIN | (c->connecting || c->want_out ? EPOLLOUT : 0);
    ebb_fd_modify(c->fd, ev);
}

static void flush(struct conn *c)
{
    while (c->txq) {
        struct iovec iov[64];
        int n = 0;
        struct iobuf *b = c->txq;
        do {
            if (b->len) {
                iov[n].iov_base = b->data;
                iov[n++].iov_len = b->len;
            }
            b = b->next;
        } while (b != c->txq && n < 64);
        if (n == 0) {
            iobuf_free(c->txq);
            c->txq = NULL;
            break;
        }
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (!c->want_out) {
                    c->want_out = true;
                    watch(c);
                }
                return;
            }
            conn_close(c, ECONNRESET);
            return;
        }
        c->txq = iobuf_chain_trim_front(c->txq, (size_t)w);
    }
    if (c->want_out) {
        c->want_out = false;
        watch(c);
    }
}

static void enqueue(struct conn *c, struct iobuf *frame)
{
    c->txq = iobuf_chain_append(c->txq, frame);
    if (!c->connecting)
        flush(c);
}

static struct conn *conn_new(struct mrep *m, int fd, int node)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->m = m;
    c->fd = fd;
    c->node = node;
    c->refs = 1;
    c->next = m->conns;
    m->conns = c;
    return c;
}

static void conn_unref(struct conn *c)
{
    if (--c->refs)
        return;
    struct mrep *m = c->m;
    for (struct conn **pp = &m->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c);
}

static void conn_close(struct conn *c, int err)
{
    if (c->closed)
        return;
    struct mrep *m = c->m;
    c->closed = true;
    ebb_timer_cancel(&c->retry);
    if (c->fd >= 0) {
        ebb_fd_unwatch(c->fd);
        close(c->fd);
        c->fd = -1;
    }
    iobuf_free(c->txq);
    c->txq = NULL;
    free(c->rbuf);
    c->rbuf = NULL;
    if (c->node >= 0 && m->peers[c->node].c == c) {
        m->peers[c->node].c = NULL;
        fail_node(m, c->node, err);
    }
    conn_unref(c);
}

static int tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static void dial(void *arg);

static void dial_failed(struct conn *c, int err)
{
    if (c->fd >= 0) {
        ebb_fd_unwatch(c->fd);
        close(c->fd);
        c->fd = -1;
    }
    if (++c->attempts < DIAL_ATTEMPTS) {
        ebb_timer_start(&c->retry, DIAL_RETRY_NS, dial, c);
        return;
    }
    ebb_msg_log("messenger: cannot reach node %d: error %d", c->node, err);
    conn_close(c, err);
}

static void dial(void *arg)
{
    struct conn *c = arg;
    struct peer *p = &c->m->peers[c->node];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->port) };
    inet_pton(AF_INET, p->addr, &sa.sin_addr);
    c->connecting = true;
    c->fd = tcp_socket();
    if (c->fd < 0) {
        dial_failed(c, errno);
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        dial_failed(c, e);
        return;
    }
    if (ebb_fd_watch(c->fd, EPOLLIN | EPOLLOUT, conn_event, c) < 0) {
        close(c->fd);
        c->fd = -1;
        dial_failed(c, EMFILE);
    }
}

/* The connection to node, dialled if there is none. */
static struct conn *conn_to(struct mrep *m, unsigned node)
{
    struct peer *p = &m->peers[node];
    if (p->c)
        return p->c;
    if (!p->known)
        return NULL;
    struct conn *c = conn_new(m, -1, (int)node);
    p->c = c;
    if (c)
        dial(c); /* may give up at once, clearing p->c */
    return p->c;
}

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
    struct mrep *m = c->m;
    if (c->node < 0 && h->src < EBB_MAX_NODES) {
        c->node = h->src;
        if (!m->peers[h->src].c)
            m->peers[h->src].c = c; /* our calls to that node use it too */
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
        complete(m, h, payload);
    } else {
        ebb_msg_log("messenger: frame of unknown type %u from node %u dropped", h->type, h->src);
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
        ebb_msg_log("messenger: reply of %u bytes from node %u dropped (max %u)", h->len, h->src,
                    EBB_MSG_MAX);
        struct ebb_msg_hdr e = *h;
        e.type = EBB_MSG_ERROR;
        e.err = EMSGSIZE;
        e.len = 0;
        complete(c->m, &e, NULL);
    }
    c->skip = h->len;
}

static void parse(struct conn *c)
{
    size_t off = 0;
    while (!c->closed) {
        if (c->skip) {
            size_t k = c->rlen - off < c->skip ? c->rlen - off : c->skip;
            off += k;
            c->skip -= k;
            if (c->skip)
                break;
        }
        if (c->rlen - off < HDR)
            break;
        struct ebb_msg_hdr h;
        memcpy(&h, c->rbuf + off, HDR);
        if (h.len > EBB_MSG_MAX) {
            off += HDR;
            oversized(c, &h);
            continue;
        }
        if (c->rlen - off - HDR < h.len)
            break;
        on_frame(c, &h, c->rbuf + off + HDR);
        off += HDR + h.len;
    }
    if (c->closed)
        return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void conn_read(struct conn *c)
{
    for (;;) {
        if (c->rcap - c->rlen < 16384) {
            size_t cap = c->rcap ? c->rcap * 2 : 65536;
            uint8_t *nb = realloc(c->rbuf, cap);
            if (!nb) {
                conn_close(c, ENOMEM);
                return;
            }
            c->rbuf = nb;
            c->rcap = cap;
        }
        size_t room = c->rcap - c->rlen;
        ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
        if (n == 0) {
            conn_close(c, ECONNRESET);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                conn_close(c, ECONNRESET);
            return;
        }
        c->rlen += (size_t)n;
        parse(c);
        if (c->closed || (size_t)n < room)
            return;
    }
}

static void conn_event(void *arg, uint32_t events)
{
    struct conn *c = arg;
    if (c->closed)
        return;
    c->refs++; /* c may be closed below; it is freed at the end at the earliest */
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err || (events & (EPOLLERR | EPOLLHUP))) {
                dial_failed(c, err ? err : ECONNREFUSED);
            } else {
                c->connecting = false;
                c->attempts = 0;
                c->want_out = true; /* flush() turns EPOLLOUT off once the queue is written */
                flush(c);
            }
        }
    } else {
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            conn_read(c);
        if (!c->closed && (events & EPOLLOUT))
            flush(c);
    }
    conn_unref(c);
}

static void accept_event(void *arg, uint32_t events)
{
    (void)events;
    struct mrep *m = arg;
    for (;;) {
        int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = conn_new(m, fd, -1);
        if (!c || ebb_fd_watch(fd, EPOLLIN, conn_event, c) < 0) {
            close(fd);
            if (c) {
                m->conns = c->next;
                free(c);
            }
        }
    }
}

/* ---- the rep ---- */

struct fwd {
    struct mrep *m;
    unsigned node, method;
    ebb_id_t id;
    uint64_t iface;
    struct iobuf *args;
    ebb_msg_unpack_fn unpack;
    void *arg;
    ebb_promise_t p;
};

static void do_call(struct fwd *f)
{
    struct mrep *m = f->m;
    if (!f->args || iobuf_headroom(f->args) < HDR || f->args->len > EBB_MSG_MAX
        || f->node >= EBB_MAX_NODES) {
        iobuf_free(f->args);
        fail_call(f->p, f->unpack, f->arg, EINVAL);
        return;
    }
    uint32_t seq = ++m->seq;
    struct ebb_msg_hdr h = {
        .len = (uint32_t)f->args->len, .dst = f->id, .iface = f->iface, .seq = seq,
        .method = (uint16_t)f->method, .type = EBB_MSG_CALL, .version = EBB_MSG_VERSION,
        .src = (uint16_t)ebb_node(),
    };
    struct conn *c = NULL;
    if (f->node != ebb_node() && !(c = conn_to(m, f->node))) {
        iobuf_free(f->args);
        fail_call(f->p, f->unpack, f->arg, EHOSTUNREACH);
        return;
    }
    struct pending *pd = malloc(sizeof *pd);
    if (!pd) {
        iobuf_free(f->args);
        fail_call(f->p, f->unpack, f->arg, ENOMEM);
        return;
    }
    *pd = (struct pending){ seq, f->node, f->iface, f->p, f->unpack, f->arg, m->pend[seq % NPEND] };
    m->pend[seq % NPEND] = pd;
    if (!c) {
        /* A call to this node: served here, through the same marshalling. */
        struct iobuf *r = ebb_msg_serve(&h, f->args->data);
        iobuf_free(f->args);
        if (!r) {
            struct ebb_msg_hdr e = h;
            e.type = EBB_MSG_ERROR;
            e.err = ENOMEM;
            complete(m, &e, NULL);
            return;
        }
        struct ebb_msg_hdr rh;
        memcpy(&rh, r->data, HDR);
        complete(m, &rh, r->data + HDR);
        iobuf_free(r);
        return;
    }
    memcpy(iobuf_prepend(f->args, HDR), &h, HDR);
    enqueue(c, f->args);
}

static void fwd_event(void *arg)
{
    do_call(arg);
    free(arg);
}

static ebb_future_t m_call(void *self, unsigned node, ebb_id_t id, uint64_t iface, unsigned method,
                           struct iobuf *args, ebb_msg_unpack_fn unpack, void *arg)
{
    struct mrep *m = self;
    ebb_promise_t p;
    ebb_future_t fut = ebb_promise_new(&p);
    struct fwd f = { m, node, method, id, iface, args, unpack, arg, p };
    if (ebb_core() == m->core) {
        do_call(&f);
        return fut;
    }
    struct fwd *w = malloc(sizeof *w);
    if (!w) {
        iobuf_free(args);
        fail_call(p, unpack, arg, ENOMEM);
        return fut;
    }
    *w = f;
    ebb_spawn_on(m->core, fwd_event, w);
    return fut;
}

static int m_listen(void *self, const char *addr, uint16_t port)
{
    struct mrep *m = self;
    if (ebb_core() != m->core)
        return -EXDEV;
    if (m->lfd >= 0)
        return -EBUSY;
    if (!port)
        return 0;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, addr ? addr : "127.0.0.1", &sa.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    int r = ebb_fd_watch(fd, EPOLLIN, accept_event, m);
    if (r < 0) {
        close(fd);
        return r;
    }
    m->lfd = fd;
    return 0;
}

static int m_peer(void *self, unsigned node, const char *addr, uint16_t port)
{
    struct mrep *m = self;
    struct in_addr ia;
    if (ebb_core() != m->core)
        return -EXDEV;
    if (node >= EBB_MAX_NODES || !addr || strlen(addr) >= sizeof m->peers[0].addr
        || inet_pton(AF_INET, addr, &ia) != 1 || !port)
        return -EINVAL;
    strcpy(m->peers[node].addr, addr);
    m->peers[node].port = port;
    m->peers[node].known = true;
    return 0;
}

static void m_stop(void *self)
{
    struct mrep *m = self;
    if (ebb_core() != m->core)
        return;
    if (m->lfd >= 0) {
        ebb_fd_unwatch(m->lfd);
        close(m->lfd);
        m->lfd = -1;
    }
    while (m->conns) {
        struct conn *c = m->conns;
        if (c->closed) { /* still referenced by a call being served: unlink it only */
            m->conns = c->next;
            c->next = NULL;
            continue;
        }
        conn_close(c, ECONNRESET);
    }
    for (unsigned n = 0; n < EBB_MAX_NODES; n++)
        fail_node(m, (int)n, ECONNRESET);
}

static const struct messenger messenger_ops = {
    .call = m_call, .listen = m_listen, .peer = m_peer, .stop = m_stop,
};

static void *messenger_create(struct ebb_root *root, unsigned core)
{
    (void)root;
    struct mrep *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->ops = &messenger_ops;
    m->core = core;
    m->lfd = -1;
    return m;
}

MESSENGER_ROOT(ebb_messenger_root, messenger_create);

int ebb_messenger_configure(void)
{
    long node = ebb_config_int("node", 0, 0, EBB_MAX_NODES - 1);
    ebb_set_node((unsigned)node);
    const char *peers = ebb_config_get("peers");
    if (peers) {
        char buf[1024];
        if (strlen(peers) >= sizeof buf) {
            ebb_msg_log("messenger: peers= is too long");
            return -EINVAL;
        }
        strcpy(buf, peers);
        for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
            unsigned n, port;
            char addr[64];
            int used = 0;
            if (sscanf(w, "%u@%63[0-9.]:%u%n", &n, addr, &port, &used) != 3 || w[used] || port > 65535
                || ebb_messenger_peer(n, addr, (uint16_t)port) < 0) {
                ebb_msg_log("messenger: peers=: '%s' is not NODE@ADDR:PORT", w);
                return -EINVAL;
            }
        }
    }
    long port = ebb_config_int("listen", 0, 0, 65535);
    return ebb_messenger_listen(ebb_config_str("listen_addr", "127.0.0.1"), (uint16_t)port);
}
