/* A Linux tap device as the network interface Ebb.
 *
 * With offloads (the default) every frame crosses with a virtio-net header (IFF_VNET_HDR) and
 * the device takes checksum and TSO offloads both ways (TUNSETOFFLOAD): the stack writes TCP
 * frames of up to 64 KiB with partial checksums, the kernel segments them (or, for its own TCP,
 * takes them whole), and reads hand us Linux's TSO/GRO frames of up to 64 KiB with checksums it
 * vouches for. The header's fields are those of struct iobuf_offload (net/netif.h).
 * offload=off: plain Ethernet frames, one per read, already segmented and checksummed.
 *
 * With several cores the tap is multiqueue (IFF_MULTI_QUEUE, when the device allows it): a
 * queue per core, read on that core; a core sends on its own queue, and Linux steers a flow's
 * frames to the queue that last sent on it. A device made without multi_queue gets one queue,
 * read on the core that opened it; any core may send on it (one writev is atomic on a tap). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include "core/config.h"
#include "core/event.h"
#include "ebb_hosted.h"
#include "net/netif.h"
#include "net_hosted.h"

#define TAP_BURST 64
#define TAP_FRAME 2048           /* without offloads: an Ethernet frame and then some */
#define TAP_IOV 128
/* With offloads a read may bring 64 KiB: it lands in a buffer that big, which the stack gets
 * only when the frame fills a good part of it; smaller frames are copied out (the big buffer
 * stays for the next read), so a peer cannot make us hold 64 KiB per small segment. */
#define TAP_BIG (NETIF_GSO_MAX + 64)
#define TAP_COPYBREAK (TAP_BIG / 4)

struct tap;

struct tap_queue {
    struct tap *t;
    int fd;
    unsigned core;
    struct iobuf *spare; /* offloads: the big buffer for the next read */
};

struct tap {
    const struct netif *ops; /* first: a rep */
    uint8_t mac[6];
    unsigned mtu;
    bool offload;
    unsigned nq;                      /* multiqueue: q[c] is core c's */
    struct tap_queue q[EBB_MAX_CORES];
    _Atomic(struct net_stack *) stack;
    _Atomic uint64_t tx_dropped;
    struct ebb_root root;
};

/* Reads one frame: NULL when there is none (or no memory). */
static struct iobuf *read_frame(struct tap_queue *q)
{
    if (!q->t->offload) {
        struct iobuf *b = iobuf_alloc(TAP_FRAME, 0);
        if (!b)
            return NULL;
        ssize_t n = read(q->fd, b->data, TAP_FRAME);
        if (n <= 0) {
            iobuf_free(b);
            return NULL;
        }
        iobuf_append(b, (size_t)n);
        return b;
    }
    if (!q->spare && !(q->spare = iobuf_alloc(TAP_BIG, 0)))
        return NULL;
    struct virtio_net_hdr h;
    struct iovec iov[2] = {{&h, sizeof h}, {q->spare->data, TAP_BIG}};
    ssize_t n = readv(q->fd, iov, 2);
    if (n < (ssize_t)sizeof h)
        return NULL;
    size_t len = (size_t)n - sizeof h;
    struct iobuf *b;
    if (len > TAP_COPYBREAK) {
        b = q->spare;
        q->spare = NULL;
        iobuf_append(b, len);
    } else {
        if (!(b = iobuf_alloc(len, 0)))
            return NULL;
        memcpy(iobuf_append(b, len), q->spare->data, len);
    }
    b->offload = (struct iobuf_offload){
        .flags = h.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID),
        .gso_type = h.gso_type, .hdr_len = h.hdr_len, .gso_size = h.gso_size,
        .csum_start = h.csum_start, .csum_offset = h.csum_offset,
    };
    return b;
}

static void tap_readable(void *arg, uint32_t events)
{
    (void)events;
    struct tap_queue *q = arg;
    for (int i = 0; i < TAP_BURST; i++) {
        struct iobuf *b = read_frame(q);
        if (!b)
            return;
        struct net_stack *s = atomic_load_explicit(&q->t->stack, memory_order_acquire);
        if (s)
            net_stack_input(s, b);
        else
            iobuf_free(b);
    }
}

static int tap_send(void *rep, struct iobuf *frame)
{
    struct tap *t = rep;
    struct tap_queue *q = &t->q[t->nq > 1 ? ebb_core() : 0];
    struct iovec iov[TAP_IOV];
    struct virtio_net_hdr h;
    int n = 0;
    if (iobuf_chain_count(frame) > TAP_IOV - 1) {
        struct iobuf *one = iobuf_coalesce_copy(frame, 0);
        iobuf_free(frame);
        if (!one)
            return -ENOMEM;
        frame = one;
    }
    if (t->offload) {
        const struct iobuf_offload *o = &frame->offload;
        h = (struct virtio_net_hdr){
            .flags = o->flags & IOBUF_CSUM_PARTIAL, .gso_type = o->gso_type,
            .hdr_len = o->hdr_len, .gso_size = o->gso_size,
            .csum_start = o->csum_start, .csum_offset = o->csum_offset,
        };
        iov[n++] = (struct iovec){&h, sizeof h};
    }
    const struct iobuf *b = frame;
    do {
        if (b->len)
            iov[n++] = (struct iovec){b->data, b->len};
        b = b->next;
    } while (b != frame);
    ssize_t w = writev(q->fd, iov, n);
    int err = w < 0 ? -errno : 0;
    iobuf_free(frame);
    if (err)
        atomic_fetch_add(&t->tx_dropped, 1);
    return err;
}

static void tap_attach(void *rep, struct net_stack *s)
{
    atomic_store_explicit(&((struct tap *)rep)->stack, s, memory_order_release);
}
static void tap_mac(void *rep, uint8_t *out) { memcpy(out, ((struct tap *)rep)->mac, 6); }
static unsigned tap_mtu(void *rep) { return ((struct tap *)rep)->mtu; }
static unsigned tap_features(void *rep)
{
    return ((struct tap *)rep)->offload ? NETIF_F_TX_CSUM | NETIF_F_TSO4 | NETIF_F_RX_CSUM : 0;
}

static const struct netif tap_ops = {
    .attach = tap_attach, .send = tap_send, .mac = tap_mac, .mtu = tap_mtu,
    .features = tap_features,
};

static void *tap_rep(struct ebb_root *root, unsigned core)
{
    (void)core;
    return root->arg;
}

/* Opens one queue of the device: the fd, or -errno. */
static int open_queue(const char *name, short flags)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = flags;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* The device's offloads, set once through any queue. */
static int set_offloads(int fd, bool on)
{
    int hdr = sizeof(struct virtio_net_hdr);
    if (on && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
        return -errno;
    /* Off, it must be said too: a device an earlier user left with offloads would hand us
     * frames that need a header we do not read. */
    unsigned long f = on ? TUN_F_CSUM | TUN_F_TSO4 : 0;
    return ioctl(fd, TUNSETOFFLOAD, f) < 0 ? -errno : 0;
}

static void watch_queue(void *arg)
{
    struct tap_queue *q = arg;
    int err = ebb_fd_watch(q->fd, EPOLLIN, tap_readable, q);
    if (err)
        fprintf(stderr, "tap: queue of core %u: %s\n", q->core, strerror(-err));
}

static void tap_free(struct tap *t)
{
    for (unsigned i = 0; i < t->nq; i++)
        if (t->q[i].fd >= 0)
            close(t->q[i].fd);
    free(t);
}

int netif_tap_open(const char *name, ebb_id_t *id)
{
    if (!name || !*name || strlen(name) >= IFNAMSIZ) {
        fprintf(stderr, "tap: bad device name '%s'\n", name ? name : "");
        return -EINVAL;
    }
    const char *off = ebb_config_str("offload", "on");
    if (strcmp(off, "on") != 0 && strcmp(off, "off") != 0) {
        fprintf(stderr, "tap: offload=%s: expected on or off\n", off);
        return -EINVAL;
    }
    struct tap *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->ops = &tap_ops;
    t->mtu = 1500;
    t->offload = strcmp(off, "on") == 0;
    short flags = IFF_TAP | IFF_NO_PI | (t->offload ? IFF_VNET_HDR : 0);
    unsigned want = ebb_ncores();
    /* Multiqueue only when it is of use; a device made without it refuses it (EINVAL). */
    int fd = want > 1 ? open_queue(name, flags | IFF_MULTI_QUEUE) : -EINVAL;
    bool mq = fd >= 0;
    if (!mq)
        fd = open_queue(name, flags);
    if (fd < 0) {
        fprintf(stderr, "tap: attaching to %s: %s%s\n", name, strerror(-fd),
                fd == -EPERM ? " (root needed)" : "");
        free(t);
        return fd;
    }
    unsigned me = ebb_core(), first = mq ? me : 0;
    t->q[first] = (struct tap_queue){.t = t, .fd = fd, .core = me};
    t->nq = mq ? want : 1;
    for (unsigned c = 0; c < t->nq; c++)
        if (c != first)
            t->q[c].fd = -1;
    for (unsigned c = 0; c < t->nq; c++) {
        if (c == first)
            continue;
        if ((fd = open_queue(name, flags | IFF_MULTI_QUEUE)) < 0) {
            fprintf(stderr, "tap: %s: queue for core %u: %s\n", name, c, strerror(-fd));
            tap_free(t);
            return fd;
        }
        t->q[c] = (struct tap_queue){.t = t, .fd = fd, .core = c};
    }
    int err = set_offloads(t->q[first].fd, t->offload);
    if (err) {
        fprintf(stderr, "tap: %s: offloads: %s\n", name, strerror(-err));
        tap_free(t);
        return err;
    }
    /* Our own MAC, locally administered; Linux keeps its own on its side of the tap. */
    uint64_t r = ebb_now_ns() ^ (uint64_t)getpid() << 20;
    uint8_t mac[6] = {0x02, 0xeb, (uint8_t)(r >> 24), (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r};
    memcpy(t->mac, mac, 6);
    t->root = (struct ebb_root){
        .name = "tap", .iface = NETIF_IFACE, .kind = EBB_SHARED, .create_rep = tap_rep, .arg = t,
    };
    *id = ebb_id_alloc();
    err = *id ? ebb_bind(*id, &t->root) : -ENOSPC;
    if (!err)
        err = ebb_fd_watch(t->q[first].fd, EPOLLIN, tap_readable, &t->q[first]);
    if (err) {
        fprintf(stderr, "tap: %s: %s\n", name, strerror(-err));
        tap_free(t);
        return err;
    }
    for (unsigned c = 0; c < t->nq; c++)
        if (c != first)
            ebb_spawn_on(c, watch_queue, &t->q[c]);
    return 0;
}

uint64_t netif_tap_tx_dropped(ebb_id_t id)
{
    struct tap *t = netif_rep(id);
    return atomic_load(&t->tx_dropped);
}
