/* A Linux tap device as the network interface Ebb. No IFF_VNET_HDR: the kernel hands us plain
 * Ethernet frames, one per read, already segmented. Frames are read on the core that opened the
 * device (as one event per burst, so the stack acknowledges a burst at once); any core may send:
 * one writev() per frame is atomic on a tap. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include "core/event.h"
#include "ebb_hosted.h"
#include "net/netif.h"
#include "net_hosted.h"

#define TAP_BURST 64
#define TAP_FRAME 2048

struct tap {
    const struct netif_ops *ops; /* first: a rep */
    int fd;
    uint8_t mac[6];
    unsigned mtu;
    struct net_stack *stack;
    _Atomic uint64_t tx_dropped;
    struct ebb_root root;
};

static void tap_readable(void *arg, uint32_t events)
{
    (void)events;
    struct tap *t = arg;
    for (int i = 0; i < TAP_BURST; i++) {
        struct iobuf *b = iobuf_alloc(TAP_FRAME, 0);
        if (!b)
            return;
        ssize_t n = read(t->fd, b->data, TAP_FRAME);
        if (n <= 0) {
            iobuf_free(b);
            return;
        }
        iobuf_append(b, (size_t)n);
        if (t->stack)
            net_stack_input(t->stack, b);
        else
            iobuf_free(b);
    }
}

static int tap_send(void *rep, struct iobuf *frame)
{
    struct tap *t = rep;
    struct iovec iov[64];
    int n = 0;
    const struct iobuf *b = frame;
    if (iobuf_chain_count(frame) > 64) {
        struct iobuf *one = iobuf_coalesce_copy(frame, 0);
        iobuf_free(frame);
        if (!one)
            return -ENOMEM;
        frame = one;
        b = frame;
    }
    do {
        if (b->len)
            iov[n++] = (struct iovec){b->data, b->len};
        b = b->next;
    } while (b != frame);
    ssize_t w = writev(t->fd, iov, n);
    int err = w < 0 ? -errno : 0;
    iobuf_free(frame);
    if (err)
        atomic_fetch_add(&t->tx_dropped, 1);
    return err;
}

static void tap_attach(void *rep, struct net_stack *s) { ((struct tap *)rep)->stack = s; }
static void tap_mac(void *rep, uint8_t out[6]) { memcpy(out, ((struct tap *)rep)->mac, 6); }
static unsigned tap_mtu(void *rep) { return ((struct tap *)rep)->mtu; }

static const struct netif_ops tap_ops = {
    .attach = tap_attach, .send = tap_send, .mac = tap_mac, .mtu = tap_mtu,
};

static void *tap_rep(struct ebb_root *root, unsigned core)
{
    (void)core;
    return root->arg;
}

int netif_tap_open(const char *name, ebb_id_t *id)
{
    if (!name || !*name || strlen(name) >= IFNAMSIZ) {
        fprintf(stderr, "tap: bad device name '%s'\n", name ? name : "");
        return -EINVAL;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        fprintf(stderr, "tap: /dev/net/tun: %s\n", strerror(err));
        return -err;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        fprintf(stderr, "tap: attaching to %s: %s (root needed)\n", name, strerror(err));
        close(fd);
        return -err;
    }
    struct tap *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        return -ENOMEM;
    }
    t->ops = &tap_ops;
    t->fd = fd;
    t->mtu = 1500;
    /* Our own MAC, locally administered; Linux keeps its own on its side of the tap. */
    uint64_t r = ebb_now_ns() ^ (uint64_t)getpid() << 20;
    uint8_t mac[6] = {0x02, 0xeb, (uint8_t)(r >> 24), (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r};
    memcpy(t->mac, mac, 6);
    t->root = (struct ebb_root){
        .name = "tap", .iface = NETIF_IFACE, .kind = EBB_SHARED, .create_rep = tap_rep, .arg = t,
    };
    *id = ebb_id_alloc();
    int err = *id ? ebb_bind(*id, &t->root) : -ENOSPC;
    if (!err)
        err = ebb_fd_watch(fd, EPOLLIN, tap_readable, t);
    if (err) {
        fprintf(stderr, "tap: %s: %s\n", name, strerror(-err));
        close(fd);
        free(t);
        return err;
    }
    return 0;
}

uint64_t netif_tap_tx_dropped(ebb_id_t id)
{
    struct tap *t = ebb_rep(id, NETIF_IFACE);
    return atomic_load(&t->tx_dropped);
}
