#define _GNU_SOURCE
/* The application API (net.h) over Linux sockets, so one application source runs over this
 * project's stack or over Linux's. Sockets are non-blocking in the calling core's epoll set,
 * with TCP_NODELAY (the API has no Nagle). Linux keeps a socket buffer, so the send window offered
 * is a fixed amount while nothing is left over from a short write, zero while something is. */
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
#include "core/event.h"
#include "ebb_hosted.h"
#include "net/api.h"
#include "net_hosted.h"

#define LINUX_WINDOW (1u << 20)
#define READ_SIZE 65536
#define READS_PER_EVENT 16

struct lconn {
    struct tcp_conn conn; /* first: the application's handle */
    int fd;
    struct iobuf *out;    /* left over from a short write */
    uint32_t watched;     /* the epoll events asked for (a change costs a system call) */
    bool connecting, rd_closed, shut_pending, dead;
    bool draining;        /* released by the application: close once c->out is written */
    ebb_promise_t promise;
};

struct llisten {
    struct tcp_listener l;
    int fd;
    tcp_accept_fn fn;
    void *arg;
};

struct ludp {
    struct udp_sock s;
    int fd;
    udp_recv_fn fn;
    void *arg;
    bool dead;
};

static const struct tcp_conn_ops lconn_ops;
static ip4_t listen_ip;

static struct sockaddr_in sin_of(ip4_t ip, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(ip)};
    return a;
}

static void free_later(void *p) { free(p); }

/* Closes the socket; the struct goes after the events running now (it may be on their stack). */
static void lconn_kill(struct lconn *c, bool reset)
{
    if (c->dead)
        return;
    c->dead = true;
    ebb_fd_unwatch(c->fd);
    if (reset) {
        struct linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd);
    iobuf_free(c->out);
    c->out = NULL;
    iobuf_free(c->conn.sendq);
    c->conn.sendq = NULL;
}

static void lconn_watch(struct lconn *c)
{
    uint32_t ev = (c->rd_closed ? 0 : EPOLLIN) | (c->out ? EPOLLOUT : 0);
    if (ev != c->watched && ebb_fd_modify(c->fd, ev) == 0)
        c->watched = ev;
}

/* Writes what it can; the rest waits in c->out. 0 or -errno. */
static int lconn_flush(struct lconn *c)
{
    while (c->out) {
        struct iovec iov[64];
        int n = 0;
        const struct iobuf *b = c->out;
        do {
            if (b->len)
                iov[n++] = (struct iovec){b->data, b->len};
            b = b->next;
        } while (b != c->out && n < 64);
        if (n == 0) {
            iobuf_free(c->out);
            c->out = NULL;
            break;
        }
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -errno;
        }
        c->out = iobuf_chain_trim_front(c->out, (size_t)w);
    }
    if (!c->out && c->shut_pending) {
        c->shut_pending = false;
        shutdown(c->fd, SHUT_WR);
    }
    lconn_watch(c);
    return 0;
}

static void lconn_event(void *arg, uint32_t events)
{
    struct lconn *c = arg;
    if (c->dead)
        return;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0 && !(events & (EPOLLERR | EPOLLHUP)))
            err = 0;
        else if (err == 0)
            err = ECONNREFUSED;
        c->connecting = false;
        if (err) {
            lconn_kill(c, false);
            c->conn.released = true;
            ebb_promise_fail(c->promise, err);
            ebb_spawn(free_later, c);
            return;
        }
        ebb_fd_modify(c->fd, EPOLLIN);
        c->watched = EPOLLIN;
        ebb_promise_set(c->promise, (uint64_t)(uintptr_t)&c->conn);
        tcp_deliver_connected(&c->conn);
        return;
    }
    if (events & EPOLLOUT) {
        int err = lconn_flush(c);
        if (err) {
            lconn_kill(c, false);
            tcp_deliver_aborted(&c->conn, -err);
            return;
        }
        if (c->draining) {
            if (!c->out) {
                lconn_kill(c, false);
                ebb_spawn(free_later, c);
            }
            return;
        }
        if (!c->out)
            tcp_deliver_window(&c->conn);
        if (c->dead)
            return;
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || c->rd_closed)
        return;
    for (int i = 0; i < READS_PER_EVENT && !c->dead && !c->rd_closed; i++) {
        struct iobuf *b = iobuf_alloc(READ_SIZE, 0);
        if (!b)
            return;
        ssize_t n = read(c->fd, b->data, READ_SIZE);
        if (n > 0) {
            iobuf_append(b, (size_t)n);
            tcp_deliver_receive(&c->conn, b);
            if (n < READ_SIZE)
                return; /* drained: epoll reports more (level-triggered), no read to find out */
            continue;
        }
        int err = n < 0 ? errno : 0;
        iobuf_free(b);
        if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK))
            return;
        if (n == 0) {
            c->rd_closed = true;
            lconn_watch(c);
            tcp_deliver_closed(&c->conn);
            return;
        }
        lconn_kill(c, false);
        tcp_deliver_aborted(&c->conn, err);
        return;
    }
}

static size_t lconn_window(struct tcp_conn *tc)
{
    struct lconn *c = (struct lconn *)tc;
    return c->dead || c->out || c->connecting ? 0 : LINUX_WINDOW;
}

static int lconn_send(struct tcp_conn *tc, struct iobuf *data)
{
    struct lconn *c = (struct lconn *)tc;
    if (c->dead) {
        iobuf_free(data);
        return -ENOTCONN;
    }
    c->out = iobuf_chain_append(c->out, data);
    int err = lconn_flush(c);
    return err;
}

static void lconn_close(struct tcp_conn *tc)
{
    struct lconn *c = (struct lconn *)tc;
    if (c->dead)
        return;
    if (c->out)
        c->shut_pending = true;
    else
        shutdown(c->fd, SHUT_WR);
}

static void lconn_abort(struct tcp_conn *tc)
{
    struct lconn *c = (struct lconn *)tc;
    lconn_kill(c, true);
    ebb_spawn(free_later, c);
}

static void lconn_release(struct tcp_conn *tc)
{
    struct lconn *c = (struct lconn *)tc;
    /* Both sides closed: what is still queued goes first, then the FIN (the kernel finishes). */
    if (!c->dead) {
        c->out = iobuf_chain_append(c->out, c->conn.sendq);
        c->conn.sendq = NULL;
        if (c->conn.fin_queued)
            c->shut_pending = true;
        if (lconn_flush(c) == 0 && c->out) {
            c->draining = true;
            return;
        }
    }
    lconn_kill(c, false);
    ebb_spawn(free_later, c);
}

static void rewatch(void *arg)
{
    struct lconn *c = arg;
    if (c->dead)
        return;
    if (ebb_fd_watch(c->fd, EPOLLIN, lconn_event, c) == 0) {
        c->watched = EPOLLIN;
        lconn_watch(c);
    }
    tcp_deliver_connected(&c->conn);
}

static int lconn_bind_core(struct tcp_conn *tc, unsigned core)
{
    struct lconn *c = (struct lconn *)tc;
    if (core >= ebb_ncores())
        return -EINVAL;
    if (core == c->conn.core)
        return 0;
    ebb_fd_unwatch(c->fd);
    c->conn.core = core;
    ebb_spawn_on(core, rewatch, c);
    return 0;
}

static void lconn_addrs(const struct tcp_conn *tc, ip4_t *lip, uint16_t *lport, ip4_t *rip,
                        uint16_t *rport)
{
    const struct lconn *c = (const struct lconn *)tc;
    struct sockaddr_in a = {0}, b = {0};
    socklen_t la = sizeof a, lb = sizeof b;
    getsockname(c->fd, (struct sockaddr *)&a, &la);
    getpeername(c->fd, (struct sockaddr *)&b, &lb);
    if (lip) *lip = ntohl(a.sin_addr.s_addr);
    if (lport) *lport = ntohs(a.sin_port);
    if (rip) *rip = ntohl(b.sin_addr.s_addr);
    if (rport) *rport = ntohs(b.sin_port);
}

static const struct tcp_conn_ops lconn_ops = {
    .window = lconn_window, .send = lconn_send, .close = lconn_close, .abort = lconn_abort,
    .bind_core = lconn_bind_core, .addrs = lconn_addrs, .release = lconn_release,
};

static struct lconn *lconn_new(int fd)
{
    struct lconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    tcp_conn_init(&c->conn, &lconn_ops, ebb_core());
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

static void listener_event(void *arg, uint32_t events)
{
    (void)events;
    struct llisten *l = arg;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct lconn *c = lconn_new(fd);
        if (c)
            c->watched = EPOLLIN;
        if (!c || ebb_fd_watch(fd, EPOLLIN, lconn_event, c) < 0) {
            close(fd);
            free(c);
            continue;
        }
        l->fn(l->arg, &c->conn);
    }
}

static void llisten_close(struct tcp_listener *tl)
{
    struct llisten *l = (struct llisten *)tl;
    ebb_fd_unwatch(l->fd);
    close(l->fd);
    ebb_spawn(free_later, l);
}

static const struct tcp_listener_ops llisten_ops = {.close = llisten_close};

static struct tcp_listener *linux_listen(struct net *n, uint16_t port, tcp_accept_fn fn, void *arg)
{
    (void)n;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = sin_of(listen_ip, port);
    struct llisten *l = calloc(1, sizeof *l);
    if (!l || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0 ||
        ebb_fd_watch(fd, EPOLLIN, listener_event, l) < 0) {
        int err = errno;
        close(fd);
        free(l);
        errno = err;
        return NULL;
    }
    l->l.ops = &llisten_ops;
    l->fd = fd;
    l->fn = fn;
    l->arg = arg;
    return &l->l;
}

static ebb_future_t linux_connect(struct net *n, ip4_t ip, uint16_t port,
                                  const struct tcp_handlers *h, void *arg)
{
    (void)n;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ebb_future_failed(errno);
    struct lconn *c = lconn_new(fd);
    if (!c) {
        close(fd);
        return ebb_future_failed(ENOMEM);
    }
    tcp_set_handlers(&c->conn, h, arg);
    struct sockaddr_in a = sin_of(ip, port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        free(c);
        return ebb_future_failed(err);
    }
    c->connecting = true;
    ebb_future_t f = ebb_promise_new(&c->promise);
    c->watched = EPOLLOUT;
    int err = ebb_fd_watch(fd, EPOLLOUT, lconn_event, c);
    if (err) {
        close(fd);
        c->connecting = false;
        ebb_promise_fail(c->promise, -err);
        free(c);
    }
    return f;
}

static void udp_event(void *arg, uint32_t events)
{
    (void)events;
    struct ludp *u = arg;
    for (int i = 0; i < READS_PER_EVENT && !u->dead; i++) {
        struct iobuf *b = iobuf_alloc(READ_SIZE + 64, 64);
        if (!b)
            return;
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(u->fd, b->data, READ_SIZE, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            iobuf_free(b);
            return;
        }
        iobuf_append(b, (size_t)n);
        u->fn(u->arg, &u->s, ntohl(from.sin_addr.s_addr), ntohs(from.sin_port), b);
    }
}

static int ludp_send(struct udp_sock *s, ip4_t dst, uint16_t dport, struct iobuf *data)
{
    struct ludp *u = (struct ludp *)s;
    struct iovec iov[64];
    int n = 0;
    if (data) {
        const struct iobuf *b = data;
        do {
            if (b->len && n < 64)
                iov[n++] = (struct iovec){b->data, b->len};
            b = b->next;
        } while (b != data);
    }
    struct sockaddr_in a = sin_of(dst, dport);
    struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(u->fd, &m, 0);
    int err = w < 0 ? -errno : 0;
    iobuf_free(data);
    return err;
}

static void ludp_close(struct udp_sock *s)
{
    struct ludp *u = (struct ludp *)s;
    u->dead = true;
    ebb_fd_unwatch(u->fd);
    close(u->fd);
    ebb_spawn(free_later, u);
}

static const struct udp_sock_ops ludp_ops = {.send = ludp_send, .close = ludp_close};

static struct udp_sock *linux_udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *arg)
{
    (void)n;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in a = sin_of(0, port);
    socklen_t al = sizeof a;
    struct ludp *u = calloc(1, sizeof *u);
    if (!u || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0 ||
        ebb_fd_watch(fd, EPOLLIN, udp_event, u) < 0) {
        int err = errno;
        close(fd);
        free(u);
        errno = err;
        return NULL;
    }
    u->s.ops = &ludp_ops;
    u->s.port = ntohs(a.sin_port);
    u->fd = fd;
    u->fn = fn;
    u->arg = arg;
    return &u->s;
}

static ip4_t linux_addr(struct net *n)
{
    (void)n;
    return listen_ip;
}

static const struct net_ops linux_ops = {
    .listen = linux_listen, .connect = linux_connect, .udp_bind = linux_udp_bind,
    .addr = linux_addr,
};

struct net *net_linux_new(ip4_t ip)
{
    listen_ip = ip;
    static struct net n = {.ops = &linux_ops};
    return &n;
}
