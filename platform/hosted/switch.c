/* A small Ethernet switch of the hosted process's own, over unix stream sockets: how a front end
 * links the native nodes it boots (docs/cluster.md) without root, taps or kernel addresses.
 *
 * Ports: each connection accepted on the switch's unix socket (QEMU's
 * `-netdev stream,server=off,addr.type=unix,addr.path=PATH`), where every frame travels as a
 * 4-byte big-endian length and then the Ethernet frame; and one local port, a network interface
 * Ebb under this project's stack in this process. It learns source MACs and forwards to the port
 * a destination was seen on, floods broadcasts and unknown destinations. An uplink to another
 * host's switch is one more socket port, over TCP with the same framing (eth_switch_uplink).
 *
 * Everything runs on the core that made the switch: the local port's send() from another core
 * is handed over as an event. Every peer is a stranger: a frame length past SW_FRAME_MAX closes
 * its port, bytes queued to a port that does not read are bounded (SW_OUTQ_MAX, then frames to it
 * are dropped), and so are the ports and the learned addresses; each has a counter. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/event.h"
#include "core/log.h"
#include "ebb_hosted.h"
#include "net/netif.h"
#include "net_hosted.h"

#define SW_PORTS 256             /* socket ports */
#define SW_UPLINKS 16            /* of which uplinks (so that strangers on the uplink's network
                                  * cannot take the ports the QEMUs need) */
#define SW_MACS 1024             /* learned addresses */
#define SW_FRAME_MAX 65550       /* larger: not a frame, the port is closed */
#define SW_OUTQ_MAX (4u << 20)   /* bytes queued to one port */
#define SW_READ 65536
#define LOCAL (-1)               /* the local port's number */

struct sw_port {
    int fd;                      /* -1: free */
    bool uplink;
    uint8_t *in;                 /* a frame's bytes so far (SW_FRAME_MAX + 4) */
    size_t inlen;
    uint8_t *out;                /* bytes not yet written */
    size_t outlen, outcap;
};

struct eth_switch;
struct port_ev { /* what an fd event names: the switch and the port */
    struct eth_switch *sw;
    int p;
};

struct eth_switch {
    const struct netif *ops; /* first: the local port is a network interface rep */
    int lfd, ulfd;               /* the unix listener; the uplink's TCP listener or -1 */
    unsigned core;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    uint8_t mac[6];              /* the local port's */
    struct net_stack *stack;
    struct sw_port ports[SW_PORTS];
    struct port_ev evs[SW_PORTS];
    struct { uint8_t mac[6]; int port; } macs[SW_MACS];
    unsigned nmacs, next_mac, nuplinks;
    struct eth_switch_stats st;
    struct ebb_root root;
};

static void port_close(struct eth_switch *sw, int p)
{
    struct sw_port *sp = &sw->ports[p];
    ebb_fd_unwatch(sp->fd);
    close(sp->fd);
    sw->nuplinks -= sp->uplink;
    free(sp->in);
    free(sp->out);
    *sp = (struct sw_port){ .fd = -1 };
    for (unsigned i = 0; i < sw->nmacs; i++)
        if (sw->macs[i].port == p)
            sw->macs[i].port = -2; /* forgotten: floods until learned again */
    sw->st.ports_closed++;
}

static void learn(struct eth_switch *sw, const uint8_t *src, int port)
{
    if (src[0] & 1)
        return; /* a multicast source is nobody's address */
    for (unsigned i = 0; i < sw->nmacs; i++)
        if (!memcmp(sw->macs[i].mac, src, 6)) {
            sw->macs[i].port = port;
            return;
        }
    /* Full: the oldest entry makes room (a flood of made-up addresses only costs floods). */
    unsigned i = sw->nmacs < SW_MACS ? sw->nmacs++ : (sw->st.macs_replaced++, sw->next_mac++ % SW_MACS);
    memcpy(sw->macs[i].mac, src, 6);
    sw->macs[i].port = port;
}

/* The port dst was learned on; -2 if unknown or a group address. */
static int lookup(struct eth_switch *sw, const uint8_t *dst)
{
    if (dst[0] & 1)
        return -2;
    for (unsigned i = 0; i < sw->nmacs; i++)
        if (!memcmp(sw->macs[i].mac, dst, 6))
            return sw->macs[i].port;
    return -2;
}

/* Writes what the socket takes; the rest waits for EPOLLOUT. */
static void port_flush(struct eth_switch *sw, int p)
{
    struct sw_port *sp = &sw->ports[p];
    size_t off = 0;
    while (off < sp->outlen) {
        ssize_t w = send(sp->fd, sp->out + off, sp->outlen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN) {
            port_close(sw, p);
            return;
        }
        if (w < 0)
            break;
        off += (size_t)w;
    }
    memmove(sp->out, sp->out + off, sp->outlen - off);
    sp->outlen -= off;
    ebb_fd_modify(sp->fd, EPOLLIN | (sp->outlen ? EPOLLOUT : 0));
}

static void to_port(struct eth_switch *sw, int p, const uint8_t *f, size_t n)
{
    if (p == LOCAL) {
        struct iobuf *b = sw->stack ? iobuf_alloc(n, 0) : NULL;
        if (!b)
            return;
        memcpy(iobuf_append(b, n), f, n);
        net_stack_input(sw->stack, b);
        return;
    }
    struct sw_port *sp = &sw->ports[p];
    if (sp->outlen + 4 + n > SW_OUTQ_MAX) {
        sw->st.dropped_outq++;
        return;
    }
    if (sp->outcap < sp->outlen + 4 + n) {
        size_t cap = sp->outcap ? sp->outcap : 65536;
        while (cap < sp->outlen + 4 + n)
            cap *= 2;
        uint8_t *nb = realloc(sp->out, cap);
        if (!nb) {
            sw->st.dropped_outq++;
            return;
        }
        sp->out = nb;
        sp->outcap = cap;
    }
    uint8_t *w = sp->out + sp->outlen;
    w[0] = (uint8_t)(n >> 24), w[1] = (uint8_t)(n >> 16), w[2] = (uint8_t)(n >> 8), w[3] = (uint8_t)n;
    memcpy(w + 4, f, n);
    bool was_empty = sp->outlen == 0;
    sp->outlen += 4 + n;
    if (was_empty)
        port_flush(sw, p);
}

/* One frame that came in on port `from`. */
static void forward(struct eth_switch *sw, int from, const uint8_t *f, size_t n)
{
    if (n < 14) {
        sw->st.runts++;
        return;
    }
    sw->st.frames++;
    learn(sw, f + 6, from);
    int to = lookup(sw, f);
    if (to != -2) {
        if (to != from)
            to_port(sw, to, f, n);
        return;
    }
    sw->st.floods++;
    if (from != LOCAL)
        to_port(sw, LOCAL, f, n);
    for (int p = 0; p < SW_PORTS; p++)
        if (p != from && sw->ports[p].fd >= 0)
            to_port(sw, p, f, n);
}

static void port_readable(struct eth_switch *sw, int p)
{
    struct sw_port *sp = &sw->ports[p];
    for (int burst = 0; burst < 16; burst++) {
        ssize_t r = recv(sp->fd, sp->in + sp->inlen, SW_FRAME_MAX + 4 - sp->inlen, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r <= 0) {
            port_close(sw, p); /* the VM is gone (its exit is the NodeAllocator's business) */
            return;
        }
        sp->inlen += (size_t)r;
        size_t off = 0;
        while (sp->inlen - off >= 4) {
            const uint8_t *h = sp->in + off;
            size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
            if (n > SW_FRAME_MAX) {
                sw->st.bad_length++;
                ebb_debug("switch: a frame of %zu bytes on port %d: port closed", n, p);
                port_close(sw, p);
                return;
            }
            if (sp->inlen - off - 4 < n)
                break;
            forward(sw, p, h + 4, n);
            if (sp->fd < 0)
                return; /* closed while forwarding (its own send failed) */
            off += 4 + n;
        }
        memmove(sp->in, sp->in + off, sp->inlen - off);
        sp->inlen -= off;
    }
}

static void port_event(void *arg, uint32_t events)
{
    struct port_ev *pe = arg;
    struct sw_port *sp = &pe->sw->ports[pe->p];
    if ((events & EPOLLOUT) && sp->fd >= 0)
        port_flush(pe->sw, pe->p);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && sp->fd >= 0)
        port_readable(pe->sw, pe->p);
}

/* A connected socket becomes a port (or is closed, counted). */
static void port_add(struct eth_switch *sw, int fd, bool uplink)
{
    int p = 0;
    while (p < SW_PORTS && sw->ports[p].fd >= 0)
        p++;
    uint8_t *in = p < SW_PORTS && !(uplink && sw->nuplinks == SW_UPLINKS) ? malloc(SW_FRAME_MAX + 4) : NULL;
    if (!in) {
        sw->st.ports_refused++;
        close(fd);
        return;
    }
    sw->ports[p] = (struct sw_port){ .fd = fd, .in = in, .uplink = uplink };
    sw->evs[p] = (struct port_ev){ sw, p };
    if (ebb_fd_watch(fd, EPOLLIN, port_event, &sw->evs[p]) < 0) {
        close(fd);
        free(in);
        sw->ports[p] = (struct sw_port){ .fd = -1 };
        return;
    }
    sw->nuplinks += uplink;
    sw->st.ports_opened++;
}

/* Either listener's event (the unix socket's, the uplink's): both are non-blocking. */
static void on_accept(void *arg, uint32_t events)
{
    (void)events;
    struct eth_switch *sw = arg;
    const int lfds[2] = { sw->lfd, sw->ulfd };
    for (int i = 0; i < 2; i++) {
        int fd = lfds[i] >= 0 ? accept4(lfds[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) : -1;
        if (fd >= 0)
            port_add(sw, fd, i == 1);
    }
}

int eth_switch_uplink(struct eth_switch *sw, bool listening, const char *addr, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || !port || (listening && sw->ulfd >= 0))
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, err = 0;
    if (fd < 0)
        return -errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (listening) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
            fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
            err = -errno;
        else if (!(err = ebb_fd_watch(fd, EPOLLIN, on_accept, sw)))
            sw->ulfd = fd;
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        err = -errno;
    } else {
        port_add(sw, fd, true);
        return 0;
    }
    if (err)
        close(fd);
    return err;
}

/* ---- the local port: a network interface Ebb ---- */

struct local_frame {
    struct eth_switch *sw;
    size_t n;
    uint8_t f[];
};

static void local_event(void *arg)
{
    struct local_frame *lf = arg;
    forward(lf->sw, LOCAL, lf->f, lf->n);
    free(lf);
}

static int sw_send(void *rep, struct iobuf *frame)
{
    struct eth_switch *sw = rep;
    size_t n = iobuf_chain_len(frame);
    struct local_frame *lf = malloc(sizeof *lf + n);
    if (!lf) {
        iobuf_free(frame);
        return -ENOMEM;
    }
    lf->sw = sw;
    lf->n = n;
    size_t off = 0;
    const struct iobuf *b = frame;
    do {
        memcpy(lf->f + off, b->data, b->len);
        off += b->len;
        b = b->next;
    } while (b != frame);
    iobuf_free(frame);
    if (ebb_core() == sw->core)
        local_event(lf);
    else
        ebb_spawn_on(sw->core, local_event, lf);
    return 0;
}

static void sw_attach(void *rep, struct net_stack *s) { ((struct eth_switch *)rep)->stack = s; }
static void sw_mac(void *rep, uint8_t *out) { memcpy(out, ((struct eth_switch *)rep)->mac, 6); }
static unsigned sw_mtu(void *rep) { (void)rep; return 1500; }
static unsigned sw_features(void *rep) { (void)rep; return 0; }

static const struct netif sw_ops = {
    .attach = sw_attach, .send = sw_send, .mac = sw_mac, .mtu = sw_mtu, .features = sw_features,
};

static void *sw_rep(struct ebb_root *root, unsigned core)
{
    (void)core;
    return root->arg;
}

struct eth_switch *eth_switch_new(const char *path, const uint8_t mac[6], ebb_id_t *id, int *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct eth_switch *sw = NULL;
    int fd = -1;
    *err = -ENAMETOOLONG;
    if (strlen(path) >= sizeof sa.sun_path)
        goto fail;
    strcpy(sa.sun_path, path);
    *err = -ENOMEM;
    if (!(sw = calloc(1, sizeof *sw)))
        goto fail;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 64) < 0) {
        *err = -errno;
        goto fail;
    }
    sw->ops = &sw_ops;
    sw->lfd = fd;
    sw->ulfd = -1;
    sw->core = ebb_core();
    strcpy(sw->path, path);
    memcpy(sw->mac, mac, 6);
    for (int p = 0; p < SW_PORTS; p++)
        sw->ports[p].fd = -1;
    sw->root = (struct ebb_root){
        .name = "switch", .iface = NETIF_IFACE, .kind = EBB_SHARED, .create_rep = sw_rep, .arg = sw,
    };
    *id = ebb_id_alloc();
    *err = *id ? ebb_bind(*id, &sw->root) : -ENOSPC;
    if (!*err)
        *err = ebb_fd_watch(fd, EPOLLIN, on_accept, sw);
    if (!*err)
        return sw;
fail:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(sw);
    return NULL;
}

void eth_switch_close(struct eth_switch *sw)
{
    for (int p = 0; p < SW_PORTS; p++)
        if (sw->ports[p].fd >= 0)
            port_close(sw, p);
    ebb_fd_unwatch(sw->lfd);
    close(sw->lfd);
    if (sw->ulfd >= 0) {
        ebb_fd_unwatch(sw->ulfd);
        close(sw->ulfd);
    }
    unlink(sw->path);
    sw->stack = NULL; /* the stack may still send: its frames go nowhere */
}

void eth_switch_stats(const struct eth_switch *sw, struct eth_switch_stats *out) { *out = sw->st; }
