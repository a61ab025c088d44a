/* The hosted Messenger transport: frames over TCP between node processes (one Linux process per
 * node); core/msg.c is the Messenger Ebb above it. Everything here runs on the Messenger's core.
 *
 * Per peer node one connection, used both ways: this node dials a peer the first time it calls
 * it (retrying while the peer is not up yet, with the frames queued), and a connection a peer
 * dialled serves our calls to that peer too. A call frame is served as its own event (the method
 * may block); a reply goes to the Messenger, which completes the caller's promise. */
#define _GNU_SOURCE
#include "core/messenger.h"
#include "core/event.h"
#include "ebb_hosted.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR sizeof(struct ebb_msg_hdr)
#define DIAL_ATTEMPTS 200    /* 200 x 25 ms: a peer may take 5 s to come up */
#define DIAL_RETRY_NS 25000000ull

struct conn {
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

/* This node's transport state. */
static int lfd = -1;
static struct peer peers[EBB_MAX_NODES];
static struct conn *conns;

static void conn_event(void *arg, uint32_t events);
static void conn_close(struct conn *c, int err);

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

static struct conn *conn_new(int fd, int node)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
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

static void conn_close(struct conn *c, int err)
{
    if (c->closed)
        return;
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
    if (c->node >= 0 && peers[c->node].c == c) {
        peers[c->node].c = NULL;
        ebb_msg_node_failed((unsigned)c->node, err);
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
    ebb_log("messenger: cannot reach node %d: error %d", c->node, err);
    conn_close(c, err);
}

static void dial(void *arg)
{
    struct conn *c = arg;
    struct peer *p = &peers[c->node];
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
static struct conn *conn_to(unsigned node)
{
    struct peer *p = &peers[node];
    if (p->c)
        return p->c;
    if (!p->known)
        return NULL;
    struct conn *c = conn_new(-1, (int)node);
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
        ebb_log("messenger: frame of unknown type %u from node %u dropped", h->type, h->src);
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
        ebb_log("messenger: reply of %u bytes from node %u dropped (max %u)", h->len, h->src,
                    EBB_MSG_MAX);
        struct ebb_msg_hdr e = *h;
        e.type = EBB_MSG_ERROR;
        e.err = EMSGSIZE;
        e.len = 0;
        ebb_msg_reply_received(&e, NULL);
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
    (void)events, (void)arg;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = conn_new(fd, -1);
        if (!c || ebb_fd_watch(fd, EPOLLIN, conn_event, c) < 0) {
            close(fd);
            if (c) {
                conns = c->next;
                free(c);
            }
        }
    }
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
    if (lfd >= 0)
        return -EBUSY;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
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
    int r = ebb_fd_watch(fd, EPOLLIN, accept_event, NULL);
    if (r < 0) {
        close(fd);
        return r;
    }
    lfd = fd;
    return 0;
}

int ebb_msg_transport_peer(unsigned node, const char *addr, uint16_t port)
{
    struct in_addr ia;
    if (strlen(addr) >= sizeof peers[0].addr || inet_pton(AF_INET, addr, &ia) != 1)
        return -EINVAL;
    strcpy(peers[node].addr, addr);
    peers[node].port = port;
    peers[node].known = true;
    return 0;
}

void ebb_msg_transport_stop(void)
{
    if (lfd >= 0) {
        ebb_fd_unwatch(lfd);
        close(lfd);
        lfd = -1;
    }
    while (conns) {
        struct conn *c = conns;
        if (c->closed) { /* still referenced by a call being served: unlink it only */
            conns = c->next;
            c->next = NULL;
            continue;
        }
        conn_close(c, ECONNRESET);
    }
}
