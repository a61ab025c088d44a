/* The application API (net.h): dispatch to the implementation, the buffering send helper, and
 * the lifetime rules of a connection handle. */
#include "net/api.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Reads a decimal number <= max from *s; advances it. */
static int dec(const char **s, unsigned max, unsigned *out)
{
    unsigned v = 0, n = 0;
    while (**s >= '0' && **s <= '9' && n < 4) {
        v = v * 10 + (unsigned)(**s - '0');
        (*s)++;
        n++;
    }
    if (n == 0 || n > 3 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_quad(const char **s, ip4_t *out)
{
    ip4_t a = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v;
        if (dec(s, 255, &v) || (i < 3 && *(*s)++ != '.'))
            return -1;
        a = a << 8 | v;
    }
    *out = a;
    return 0;
}

int ip4_parse(const char *s, ip4_t *out)
{
    ip4_t a;
    if (!s || parse_quad(&s, &a) || *s)
        return -1;
    *out = a;
    return 0;
}

int ip4_parse_cidr(const char *s, ip4_t *out, unsigned *prefix)
{
    ip4_t a;
    unsigned p;
    if (!s || parse_quad(&s, &a) || *s++ != '/' || dec(&s, 32, &p) || *s)
        return -1;
    *out = a;
    *prefix = p;
    return 0;
}

char *ip4_format(ip4_t a, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return buf;
}

struct tcp_listener *tcp_listen(struct net *n, uint16_t port, tcp_accept_fn fn, void *arg)
{
    return n->ops->listen(n, port, fn, arg);
}

void tcp_listener_close(struct tcp_listener *l) { l->ops->close(l); }

ebb_future_t tcp_connect(struct net *n, ip4_t ip, uint16_t port, const struct tcp_handlers *h,
                         void *arg)
{
    return n->ops->connect(n, ip, port, h, arg);
}

ip4_t net_addr(struct net *n) { return n->ops->addr(n); }

void tcp_conn_init(struct tcp_conn *c, const struct tcp_conn_ops *ops, unsigned core)
{
    memset(c, 0, sizeof *c);
    c->ops = ops;
    c->core = core;
    c->sendq_max = TCP_SENDQ_MAX_DEFAULT;
}

void tcp_set_handlers(struct tcp_conn *c, const struct tcp_handlers *h, void *arg)
{
    if (h)
        c->h = *h;
    else
        memset(&c->h, 0, sizeof c->h);
    c->arg = arg;
}

int tcp_bind_core(struct tcp_conn *c, unsigned core) { return c->ops->bind_core(c, core); }
unsigned tcp_core(const struct tcp_conn *c) { return c->core; }

void tcp_addrs(const struct tcp_conn *c, ip4_t *lip, uint16_t *lport, ip4_t *rip, uint16_t *rport)
{
    c->ops->addrs(c, lip, lport, rip, rport);
}

size_t tcp_send_window(struct tcp_conn *c)
{
    if (c->released || c->app_closed || c->sendq)
        return 0;
    return c->ops->window(c);
}

int tcp_send(struct tcp_conn *c, struct iobuf *data)
{
    if (c->released || c->app_closed)
        return -EPIPE;
    if (c->sendq || iobuf_chain_len(data) > c->ops->window(c))
        return -EMSGSIZE;
    c->ops->send(c, data); /* taken even if it fails: the failure reaches `aborted` */
    return 0;
}

/* The application is done with the handle; what it queued (and its FIN) still goes out. */
static void release(struct tcp_conn *c)
{
    if (c->released)
        return;
    c->released = true;
    c->ops->release(c);
}

/* Sends as much of the queue as the window takes; the FIN follows once it is empty. */
static void flush(struct tcp_conn *c)
{
    while (c->sendq) {
        size_t w = c->ops->window(c);
        if (w == 0)
            return;
        struct iobuf *rest;
        struct iobuf *part = iobuf_chain_split(c->sendq, w, &rest);
        if (!part)
            return;
        c->sendq = rest;
        /* send takes part whatever it returns (docs/network.md, "Who owns an IOBuf"). */
        if (c->ops->send(c, part) < 0)
            return;
    }
    if (c->fin_queued && !c->sendq) {
        c->fin_queued = false;
        c->ops->close(c);
    }
}

static uint64_t sendq_refused;
uint64_t tcp_sendq_refused(void) { return __atomic_load_n(&sendq_refused, __ATOMIC_RELAXED); }
void tcp_set_send_limit(struct tcp_conn *c, size_t bytes) { c->sendq_max = bytes; }

int tcp_send_buffered(struct tcp_conn *c, struct iobuf *data)
{
    if (c->released || c->app_closed) {
        iobuf_free(data);
        return -EPIPE;
    }
    if (c->sendq && iobuf_chain_len(c->sendq) + iobuf_chain_len(data) > c->sendq_max) {
        /* A peer that does not read (or keeps its window shut) must not grow us: the
         * application hears -ENOBUFS and waits for window_opened, or gives up. */
        __atomic_fetch_add(&sendq_refused, 1, __ATOMIC_RELAXED);
        iobuf_free(data);
        return -ENOBUFS;
    }
    c->sendq = iobuf_chain_append(c->sendq, data);
    flush(c);
    return 0;
}

size_t tcp_buffered(const struct tcp_conn *c) { return iobuf_chain_len(c->sendq); }

void tcp_close(struct tcp_conn *c)
{
    if (c->released || c->app_closed)
        return;
    c->app_closed = true;
    if (c->sendq)
        c->fin_queued = true;
    else
        c->ops->close(c);
    if (c->peer_closed)
        release(c);
}

void tcp_abort(struct tcp_conn *c)
{
    if (c->released)
        return;
    c->released = true;
    iobuf_free(c->sendq);
    c->sendq = NULL;
    c->ops->abort(c);
}

void tcp_deliver_connected(struct tcp_conn *c)
{
    if (!c->released && c->h.connected)
        c->h.connected(c->arg, c);
}

void tcp_deliver_receive(struct tcp_conn *c, struct iobuf *data)
{
    if (c->released || !c->h.receive)
        iobuf_free(data);
    else
        c->h.receive(c->arg, c, data);
}

void tcp_deliver_closed(struct tcp_conn *c)
{
    if (c->released || c->peer_closed)
        return;
    c->peer_closed = true;
    if (c->h.closed)
        c->h.closed(c->arg, c);
    if (c->app_closed)
        release(c);
}

void tcp_deliver_aborted(struct tcp_conn *c, int err)
{
    if (c->released)
        return;
    c->released = true;
    iobuf_free(c->sendq);
    c->sendq = NULL;
    if (c->h.aborted)
        c->h.aborted(c->arg, c, err);
    c->ops->release(c);
}

void tcp_deliver_window(struct tcp_conn *c)
{
    flush(c);
    if (!c->released && !c->sendq && !c->app_closed && c->h.window_opened &&
        c->ops->window(c) > 0)
        c->h.window_opened(c->arg, c);
}

struct udp_sock *udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *arg)
{
    return n->ops->udp_bind(n, port, fn, arg);
}

int udp_send(struct udp_sock *s, ip4_t dst, uint16_t dport, struct iobuf *data)
{
    return s->ops->send(s, dst, dport, data);
}

uint16_t udp_port(const struct udp_sock *s) { return s->port; }
void udp_close(struct udp_sock *s) { s->ops->close(s); }
