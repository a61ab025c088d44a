/* virtio-net as the network interface Ebb of native images (net/netif.h), and the native
 * net_start_from_config().
 *
 * Queues: one RX/TX pair per core when the device offers MQ (asked for through the control
 * queue), otherwise one pair that every core shares (its TX side under a lock). RX queue k
 * belongs to core k: its MSI-X entry is steered there, and its frames enter the stack there.
 * Without MSI-X one INTx line (through the I/O APIC) serves the single pair on the home core.
 *
 * RX buffers are IOBufs posted to the device and handed to the stack as they are (no copy);
 * TX sends an IOBuf chain as one descriptor chain behind a header, and frees it once the device
 * has used it (reclaimed on later sends and RX passes; TX interrupts stay off).
 *
 * Adaptive polling: in interrupt mode each RX interrupt drains its queue and counts the
 * packets of the current window; a window reaching `poll_enter` packets masks the queue's
 * interrupt and an idle handler polls it instead; once `poll_hold` consecutive windows bring
 * fewer than `poll_exit` packets, interrupts come back. poll_exit < poll_enter is the
 * hysteresis. net_poll=0 keeps interrupts always.
 *
 * Polling only pays while the host gives this vCPU a CPU of its own: a spinning vCPU thread
 * the host has to preempt takes its CPU from QEMU's I/O thread, which delivers the frames (and
 * from the peers). So an empty look followed by a gap of `poll_steal` (the vCPU did not run;
 * a look takes microseconds) ends polling at once, and the queue stays on interrupts for
 * `poll_backoff`. With 2 vCPUs on 2 host CPUs both spun and latencies grew 10-500x. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/spinlock.h"
#include "ebb_native.h"
#include "core/log.h"
#include "native.h"
#include "net/netif.h"
#include "net/stack.h"
#include "virtio.h"
#include "virtio_net.h"

#define VIRTIO_VENDOR 0x1AF4
#define NET_F_CSUM (1ull << 0)
#define NET_F_GUEST_CSUM (1ull << 1)
#define NET_F_MAC (1ull << 5)
#define NET_F_GUEST_TSO4 (1ull << 7)
#define NET_F_HOST_TSO4 (1ull << 11)
#define NET_F_MRG_RXBUF (1ull << 15)
#define NET_F_STATUS (1ull << 16)
#define NET_F_CTRL_VQ (1ull << 17)
#define NET_F_MQ (1ull << 22)
#define NET_F_OFFLOADS (NET_F_CSUM | NET_F_GUEST_CSUM | NET_F_HOST_TSO4 | NET_F_GUEST_TSO4)

/* The virtio-net header's flags (virtio 1.x, 5.1.6), also IOBUF_CSUM_* (core/iobuf.h). */
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2

#define NET_S_LINK_UP 1
#define CTRL_MQ 4
#define CTRL_MQ_VQ_PAIRS_SET 0

#define MAX_PAIRS 16
#define QUEUE_MAX 256          /* entries asked of a modern device */
#define RX_BUF 2048            /* header + a full Ethernet frame, one buffer each */
#define RX_BUDGET 64           /* frames per drain before other events get a turn */
#define MAX_MRG_BUFS 40        /* a merged frame over more buffers is dropped (64 KiB: 33) */
#define TX_SEGS 96             /* descriptors per frame (a 64 KiB TSO frame: ~50); longer
                                * chains are copied into one */
#define HDR_SLOT 16            /* bytes per TX header slot (one slot per descriptor) */
#define TX_FULL_SPIN_NS 2000000ull /* wait this long for the device to free TX descriptors */
#define CHECK_NS 50000000ull   /* the lost-notification check's period */

/* Adaptive polling defaults (the keys net_poll_window_us, net_poll_enter, net_poll_exit,
 * net_poll_hold override them). */
#define POLL_WINDOW_US 1000
#define POLL_ENTER 8           /* packets per window that turn polling on */
#define POLL_EXIT 2            /* fewer per window, poll_hold windows in a row, turn it off */
#define POLL_HOLD 4
#define POLL_STEAL_US 200      /* a gap this long between two looks: the host preempted us */
#define POLL_BACKOFF_MS 100    /* then interrupts only for this long */

struct vnet;

struct vnet_rxq {
    struct virtq vq;
    struct vnet *n;
    unsigned core;
    bool polling;
    bool look_empty;           /* the last look found nothing; it ended at look_end */
    struct ebb_idle idle;
    uint64_t look_end, backoff_until;
    uint64_t win_start;
    unsigned win_pkts, low_wins;
    struct ebb_timer check;    /* the lost-notification check */
    uint16_t check_taken, check_used, check_tx_avail, check_tx_used;
    struct iobuf *partial;     /* a merged frame being collected */
    unsigned partial_left;
    bool partial_drop;
    struct vnet_stats st;
} __attribute__((aligned(64)));

struct vnet_txq {
    struct virtq vq;
    uint8_t *hdrs;             /* a header slot per descriptor: for frames whose header cannot
                                * go in front of their data */
    int lock;
    uint64_t packets, full_drops, full_waits, tso;
} __attribute__((aligned(64)));

struct vnet {
    const struct netif *ops; /* first: a rep */
    struct virtio_dev dev;
    uint8_t mac[6];
    unsigned hdr_len;          /* 12 (modern, or merged RX buffers) or 10 */
    bool hdr_in_frame;         /* the TX header may share the frame's first descriptor */
    bool mrg;
    bool offload;              /* offload=on (the default): checksums and TSO asked of the device */
    unsigned npairs;
    bool poll;
    uint64_t poll_window_ns, poll_steal_ns, poll_backoff_ns;
    unsigned poll_enter, poll_exit, poll_hold;
    struct net_stack *stack;
    unsigned features;         /* NETIF_F_* offered to the stack */
    struct vnet_rxq rx[MAX_PAIRS];
    struct vnet_txq tx[MAX_PAIRS];
    struct virtq ctrl;
    struct ebb_root root;
};

static struct vnet *the_vnet;

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Physical segments of [p, p+len) (split where the memory is not contiguous); 0 on failure
 * (no physical address, or more than max segments). */
static unsigned dma_segs(const uint8_t *p, size_t len, struct virtq_seg *s, unsigned max)
{
    unsigned n = 0;
    while (len) {
        uint64_t pa = native_virt_to_phys(p);
        size_t chunk = PAGE_SIZE - ((uintptr_t)p & (PAGE_SIZE - 1));
        if (chunk > len)
            chunk = len;
        if (!pa)
            return 0;
        if (n && s[n - 1].addr + s[n - 1].len == pa) {
            s[n - 1].len += (uint32_t)chunk;
        } else {
            if (n == max)
                return 0;
            s[n++] = (struct virtq_seg){pa, (uint32_t)chunk};
        }
        p += chunk;
        len -= chunk;
    }
    return n;
}

/* ---- receive ---- */

static void rx_refill(struct vnet_rxq *q)
{
    bool added = false;
    while (q->vq.num_free >= 2) {
        struct iobuf *b = iobuf_alloc(RX_BUF, 0);
        if (!b) {
            q->st.rx_nomem++;
            break;
        }
        struct virtq_seg segs[2];
        unsigned ns = dma_segs(b->data, RX_BUF, segs, 2);
        if (!ns || virtq_add(&q->vq, segs, 0, ns, b)) {
            iobuf_free(b);
            break;
        }
        added = true;
    }
    if (added)
        virtq_kick(&q->vq);
}

static void rx_deliver(struct vnet_rxq *q, struct iobuf *frame)
{
    q->st.rx_packets++;
    struct net_stack *s = __atomic_load_n(&q->n->stack, __ATOMIC_ACQUIRE);
    if (s)
        net_stack_input(s, frame);
    else
        iobuf_free(frame);
}

static void tx_reclaim(struct vnet_txq *q);

/* Takes up to `budget` frames from the used ring to the stack and posts new buffers; returns
 * how many frames. */
static unsigned rx_drain(struct vnet_rxq *q, unsigned budget)
{
    struct vnet *n = q->n;
    unsigned got = 0;
    uint32_t len;
    struct iobuf *b;
    while (got < budget && (b = virtq_get(&q->vq, &len))) {
        if (len > RX_BUF || (!q->partial && len < n->hdr_len)) {
            q->st.rx_bad++;
            iobuf_free(b);
            continue;
        }
        iobuf_append(b, len);
        if (!q->partial) {
            const uint8_t *h = b->data;
            unsigned nbufs = n->mrg ? (unsigned)(h[10] | h[11] << 8) : 1;
            b->offload = (struct iobuf_offload){
                .flags = h[0] & (HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID), .gso_type = h[1],
                .hdr_len = le16(h + 2), .gso_size = le16(h + 4),
                .csum_start = le16(h + 6), .csum_offset = le16(h + 8),
            };
            q->st.rx_csum += b->offload.flags != 0;
            q->st.rx_gso += b->offload.gso_type != IOBUF_GSO_NONE;
            iobuf_advance(b, n->hdr_len);
            q->partial = b;
            q->partial_left = nbufs ? nbufs - 1 : 0;
            q->partial_drop = nbufs > MAX_MRG_BUFS;
        } else {
            q->partial = iobuf_chain_append(q->partial, b);
            q->partial_left--;
        }
        if (q->partial_left == 0) {
            struct iobuf *f = q->partial;
            q->partial = NULL;
            if (q->partial_drop) {
                q->st.rx_bad++;
                iobuf_free(f);
            } else {
                rx_deliver(q, f);
                got++;
            }
        }
    }
    rx_refill(q);
    /* TX interrupts are off: frames the device has sent are freed here too. */
    tx_reclaim(&n->tx[q - n->rx]);
    return got;
}

static void rx_count_window(struct vnet_rxq *q, unsigned got, uint64_t now)
{
    q->win_pkts += got;
    if (now - q->win_start < q->n->poll_window_ns)
        return;
    if (q->polling)
        q->low_wins = q->win_pkts < q->n->poll_exit ? q->low_wins + 1 : 0;
    q->win_start = now;
    q->win_pkts = 0;
}

static void rx_irq(void *arg);

static bool rx_idle(void *arg)
{
    struct vnet_rxq *q = arg;
    uint64_t start = ebb_now_ns();
    bool stolen = q->look_empty && start - q->look_end >= q->n->poll_steal_ns;
    unsigned got = rx_drain(q, RX_BUDGET);
    q->st.rx_polled += got;
    uint64_t now = ebb_now_ns();
    rx_count_window(q, got, now);
    if (stolen) {
        q->st.poll_steals++;
        q->backoff_until = now + q->n->poll_backoff_ns;
    }
    if (q->low_wins >= q->n->poll_hold || stolen) {
        /* Back to interrupts; when quiet, unless something slipped in while they were off
         * (preempted: anyway, the rest then comes through rx_irq). */
        q->low_wins = 0;
        bool more = virtq_irq_on(&q->vq);
        if (!more || stolen) {
            q->polling = false;
            q->st.poll_exits++;
            ebb_idle_remove(&q->idle);
            if (more) {
                ebb_spawn(rx_irq, q);
                q->st.rx_irqs--;
            }
            return got > 0 || more;
        }
        virtq_irq_off(&q->vq);
    }
    q->look_empty = got == 0;
    q->look_end = ebb_now_ns();
    return true; /* polling: this core keeps looking instead of halting */
}

static void rx_irq(void *arg)
{
    struct vnet_rxq *q = arg;
    q->st.rx_irqs++;
    if (q->polling) /* an interrupt raised before the mask took effect */
        return;
    unsigned got = rx_drain(q, RX_BUDGET);
    uint64_t now = ebb_now_ns();
    rx_count_window(q, got, now);
    bool more = virtq_irq_on(&q->vq); /* re-armed (EVENT_IDX moves the mark each time) */
    if (q->n->poll && now >= q->backoff_until && (q->win_pkts >= q->n->poll_enter || more)) {
        virtq_irq_off(&q->vq);
        q->polling = true;
        q->low_wins = 0;
        q->look_empty = false;
        q->st.poll_entries++;
        ebb_idle_add(&q->idle);
    } else if (more) {
        ebb_spawn(rx_irq, q); /* the budget ran out: the rest after other events */
        q->st.rx_irqs--;
    }
}

/* INTx: one line for the device; reading the ISR lowers it. */
static void intx_irq(void *arg)
{
    struct vnet *n = arg;
    virtio_isr(&n->dev);
    rx_irq(&n->rx[0]);
}

/* A notification lost by either side stalls a queue for good: with EVENT_IDX neither side
 * looks again (a hypervisor that drops the guest's memory barriers does this, see
 * scripts/qemu-run). So every CHECK_NS each pair is looked at on its core: used RX buffers that
 * waited a whole period untaken mean a lost interrupt, TX chains the device left untouched a
 * whole period a lost kick. Both are recovered, and counted (lost=irqs/kicks in vnet_stats). */
static void queue_check(void *arg)
{
    struct vnet_rxq *q = arg;
    struct vnet *n = q->n;
    uint16_t used = virtq_used_idx(&q->vq);
    if (!q->polling && q->check_used != q->check_taken && q->vq.last_used == q->check_taken) {
        q->st.lost_irqs++;
        rx_irq(q);
    }
    q->check_taken = q->vq.last_used;
    q->check_used = used;
    struct vnet_txq *t = &n->tx[q - n->rx];
    spin_lock(&t->lock);
    uint16_t tx_used = virtq_used_idx(&t->vq), tx_avail = t->vq.kicked_idx;
    if (q->check_tx_avail != q->check_tx_used && tx_used == q->check_tx_used) {
        q->st.lost_kicks++;
        virtq_notify(&t->vq);
    }
    q->check_tx_avail = tx_avail;
    q->check_tx_used = tx_used;
    spin_unlock(&t->lock);
    ebb_timer_start(&q->check, CHECK_NS, queue_check, q);
}

static void queue_check_start(void *arg)
{
    struct vnet_rxq *q = arg;
    q->check_taken = q->check_used = q->vq.last_used;
    ebb_timer_start(&q->check, CHECK_NS, queue_check, q);
}

/* ---- transmit ---- */

static void tx_reclaim(struct vnet_txq *q)
{
    if (!virtq_has_used(&q->vq))
        return;
    spin_lock(&q->lock);
    uint32_t len;
    struct iobuf *f;
    while ((f = virtq_get(&q->vq, &len)))
        iobuf_free(f);
    spin_unlock(&q->lock);
}

/* Caller holds q->lock. */
static void tx_reclaim_locked(struct vnet_txq *q)
{
    uint32_t len;
    struct iobuf *f;
    while ((f = virtq_get(&q->vq, &len)))
        iobuf_free(f);
}

/* The virtio-net header asking for what frame->offload says (the stack asks only for what
 * vnet_features offered). */
static void hdr_fill(struct vnet *n, uint8_t *h, const struct iobuf *frame)
{
    const struct iobuf_offload *o = &frame->offload;
    memset(h, 0, n->hdr_len);
    h[0] = o->flags & HDR_F_NEEDS_CSUM;
    h[1] = o->gso_type;
    put_le16(h + 2, o->hdr_len);
    put_le16(h + 4, o->gso_size);
    put_le16(h + 6, o->csum_start);
    put_le16(h + 8, o->csum_offset);
}

/* The descriptors of a frame: its header (its own slot, filled later, unless it is already in
 * front of the frame), then its buffers' memory. 0 if it needs too many. */
static unsigned tx_segs(struct vnet *n, const struct iobuf *frame, bool hdr_in_frame, struct virtq_seg *segs)
{
    unsigned ns = 0;
    if (!hdr_in_frame)
        segs[ns++] = (struct virtq_seg){0, n->hdr_len};
    const struct iobuf *b = frame;
    do {
        if (b->len) {
            unsigned k = dma_segs(b->data, b->len, segs + ns, TX_SEGS + 1 - ns);
            if (!k)
                return 0;
            ns += k;
        }
        b = b->next;
    } while (b != frame);
    return ns;
}

static int vnet_send(void *rep, struct iobuf *frame)
{
    struct vnet *n = rep;
    struct virtq_seg segs[TX_SEGS + 1];
    /* The header goes into the first buffer's headroom when the device takes it there (modern,
     * or ANY_LAYOUT) and the buffer is ours alone: one descriptor fewer per frame. */
    bool in_frame = n->hdr_in_frame && iobuf_headroom(frame) >= n->hdr_len && !iobuf_is_shared(frame);
    if (in_frame)
        hdr_fill(n, iobuf_prepend(frame, n->hdr_len), frame);
    unsigned ns = tx_segs(n, frame, in_frame, segs);
    if (!ns) { /* too many pieces: one copy, which fits */
        if (in_frame)
            iobuf_advance(frame, n->hdr_len);
        struct iobuf *one = iobuf_coalesce_copy(frame, 0);
        iobuf_free(frame);
        if (!one || !(ns = tx_segs(n, one, false, segs))) {
            iobuf_free(one);
            return -ENOMEM;
        }
        frame = one;
        in_frame = false;
    }

    struct vnet_txq *q = &n->tx[n->npairs > 1 ? ebb_core() % n->npairs : 0];
    spin_lock(&q->lock);
    tx_reclaim_locked(q);
    if (q->vq.num_free < ns) {
        /* The device is behind: it frees descriptors as it goes, without us. */
        q->full_waits++;
        virtq_kick(&q->vq);
        uint64_t until = ebb_now_ns() + TX_FULL_SPIN_NS;
        while (q->vq.num_free < ns && ebb_now_ns() < until) {
            ebb_cpu_relax();
            tx_reclaim_locked(q);
        }
    }
    if (!in_frame && q->vq.num_free >= ns) { /* the slot of the chain's head descriptor */
        uint8_t *h = q->hdrs + (size_t)q->vq.free_head * HDR_SLOT;
        hdr_fill(n, h, frame);
        segs[0].addr = native_virt_to_phys(h);
    }
    int err = virtq_add(&q->vq, segs, ns, 0, frame);
    if (err) {
        q->full_drops++;
    } else {
        q->packets++;
        q->tso += frame->offload.gso_type != IOBUF_GSO_NONE;
        virtq_kick(&q->vq);
    }
    spin_unlock(&q->lock);
    if (err) {
        iobuf_free(frame);
        return -ENOBUFS;
    }
    return 0;
}

static void vnet_attach(void *rep, struct net_stack *s)
{
    __atomic_store_n(&((struct vnet *)rep)->stack, s, __ATOMIC_RELEASE);
}
static void vnet_mac(void *rep, uint8_t *out) { memcpy(out, ((struct vnet *)rep)->mac, 6); }
static unsigned vnet_mtu(void *rep) { (void)rep; return 1500; }
static unsigned vnet_features(void *rep) { return ((struct vnet *)rep)->features; }

static const struct netif vnet_ops = {
    .attach = vnet_attach, .send = vnet_send, .mac = vnet_mac, .mtu = vnet_mtu,
    .features = vnet_features,
};

static void *vnet_rep(struct ebb_root *root, unsigned core)
{
    (void)core;
    return root->arg;
}

/* ---- set-up ---- */

/* One command on the control queue, waited for (at set-up only). 0 when the device says OK. */
static int ctrl_cmd(struct vnet *n, uint8_t class, uint8_t cmd, const void *data, size_t len)
{
    struct {
        uint8_t hdr[2];
        uint8_t data[8];
        uint8_t ack;
    } *m = calloc(1, sizeof *m);
    if (!m || len > sizeof m->data) {
        free(m);
        return -1;
    }
    m->hdr[0] = class;
    m->hdr[1] = cmd;
    memcpy(m->data, data, len);
    m->ack = 0xFF;
    struct virtq_seg segs[3] = {
        {native_virt_to_phys(m->hdr), 2},
        {native_virt_to_phys(m->data), (uint32_t)len},
        {native_virt_to_phys(&m->ack), 1},
    };
    int err = -1;
    if (virtq_add(&n->ctrl, segs, 2, 1, m) == 0) {
        virtq_kick(&n->ctrl);
        uint64_t until = ebb_now_ns() + 1000000000ull;
        uint32_t got;
        while (!virtq_get(&n->ctrl, &got) && ebb_now_ns() < until)
            ebb_cpu_relax();
        err = __atomic_load_n(&m->ack, __ATOMIC_ACQUIRE) == 0 ? 0 : -1;
    }
    if (err == 0 || !virtq_has_used(&n->ctrl))
        free(m); /* on a timeout the device may still write the ack: leave it */
    return err;
}

static const uint16_t net_ids[] = {0x1000, 0x1041}; /* transitional, modern */

static int open_device(struct vnet *n)
{
    struct pci_dev *d = pci_find(VIRTIO_VENDOR, net_ids, 2, 0);
    if (!d) {
        ebb_warn("virtio-net: no virtio-net device on the PCI bus (boot with a network: "
               "scripts/qemu-run --net tap:NAME or --net user)");
        return -ENODEV;
    }
    struct virtio_dev *v = &n->dev;
    if (virtio_open(v, d, "virtio-net"))
        return -ENODEV;
    uint64_t want = NET_F_MAC | NET_F_STATUS | NET_F_MRG_RXBUF | NET_F_CTRL_VQ | NET_F_MQ |
                    VIRTIO_F_RING_EVENT_IDX | VIRTIO_F_ANY_LAYOUT;
    if (ebb_ncores() == 1) /* a device with more pairs than we use may still steer to them */
        want &= ~NET_F_MQ;
    if (ebb_config_int("net_event_idx", 1, 0, 1) == 0)
        want &= ~VIRTIO_F_RING_EVENT_IDX;
    if (n->offload) {
        /* TSO needs the matching checksum offload; 64 KiB received frames need merged
         * buffers (ours are 2 KiB). */
        want |= NET_F_OFFLOADS;
        if (!(v->offered & NET_F_CSUM))
            want &= ~NET_F_HOST_TSO4;
        if (!(v->offered & NET_F_GUEST_CSUM) || !(v->offered & NET_F_MRG_RXBUF))
            want &= ~NET_F_GUEST_TSO4;
    }
    if (virtio_negotiate(v, want)) {
        ebb_warn("virtio-net: the device refused our features (%#llx of %#llx)",
               (unsigned long long)v->features, (unsigned long long)v->offered);
        virtio_fail(v);
        return -ENODEV;
    }
    n->mrg = v->features & NET_F_MRG_RXBUF;
    n->features = (v->features & NET_F_CSUM ? NETIF_F_TX_CSUM : 0) |
                  (v->features & NET_F_HOST_TSO4 ? NETIF_F_TSO4 : 0) |
                  (v->features & NET_F_GUEST_CSUM ? NETIF_F_RX_CSUM : 0);
    n->hdr_len = v->modern || n->mrg ? 12 : 10;
    n->hdr_in_frame = v->modern || (v->features & VIRTIO_F_ANY_LAYOUT);
    if (v->features & NET_F_MAC) {
        for (unsigned i = 0; i < 6; i++)
            n->mac[i] = virtio_cfg8(v, i);
    } else {
        uint64_t r = rdtsc();
        uint8_t mac[6] = {0x02, 0xeb, (uint8_t)(r >> 24), (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r};
        memcpy(n->mac, mac, 6);
    }
    unsigned max_pairs = 1;
    bool mq = (v->features & NET_F_MQ) && (v->features & NET_F_CTRL_VQ);
    if (mq)
        max_pairs = virtio_cfg16(v, 8);
    if (max_pairs < 1)
        max_pairs = 1;
    unsigned want_pairs = ebb_ncores();
    if (want_pairs > MAX_PAIRS)
        want_pairs = MAX_PAIRS;
    if (!v->msix) /* one INTx line: one queue pair */
        want_pairs = 1;
    n->npairs = want_pairs < max_pairs ? want_pairs : max_pairs;
    if (v->msix && v->pci->msix_n < n->npairs)
        n->npairs = v->pci->msix_n;

    for (unsigned k = 0; k < n->npairs; k++) {
        struct vnet_rxq *rq = &n->rx[k];
        rq->n = n;
        rq->core = k;
        rq->idle = (struct ebb_idle){.fn = rx_idle, .arg = rq};
        /* MSI-X: this queue's own vector, on its core. INTx: the one line, to the home core. */
        unsigned vec = v->msix ? ebb_native_irq_bind(rx_irq, rq) : ebb_native_irq_bind(intx_irq, n);
        if (!vec || virtq_init(v, &rq->vq, 2 * k, QUEUE_MAX, v->msix ? k : VIRTIO_NO_VECTOR) ||
            virtq_init(v, &n->tx[k].vq, 2 * k + 1, QUEUE_MAX, VIRTIO_NO_VECTOR)) {
            ebb_warn("virtio-net: setting up queue pair %u failed", k);
            virtio_fail(v);
            return -EIO;
        }
        virtq_irq_off(&n->tx[k].vq);
        n->tx[k].hdrs = aligned_alloc(HDR_SLOT, (size_t)n->tx[k].vq.size * HDR_SLOT);
        if (!n->tx[k].hdrs || !native_virt_to_phys(n->tx[k].hdrs)) {
            ebb_warn("virtio-net: no memory for TX headers");
            virtio_fail(v);
            return -ENOMEM;
        }
        if (v->msix) {
            pci_msix_route(v->pci, k, k, vec);
        } else if (d->irq_line == 0xFF || ebb_native_ioapic_route(d->irq_line, vec, 0, true, false)) {
            ebb_warn("virtio-net: no MSI-X and no usable INTx line (%u)", d->irq_line);
            virtio_fail(v);
            return -EIO;
        }
        rx_refill(rq);
        if (rq->vq.num_free == rq->vq.size) {
            ebb_warn("virtio-net: no memory for receive buffers");
            virtio_fail(v);
            return -ENOMEM;
        }
    }
    if (mq && virtq_init(v, &n->ctrl, 2 * max_pairs, 64, VIRTIO_NO_VECTOR)) {
        mq = false;
        n->npairs = 1;
    }
    if (mq)
        virtq_irq_off(&n->ctrl);
    virtio_driver_ok(v);
    if (mq) { /* even one pair: the device must stop filling the queues we did not set up */
        uint8_t pairs[2] = {(uint8_t)n->npairs, (uint8_t)(n->npairs >> 8)};
        if (ctrl_cmd(n, CTRL_MQ, CTRL_MQ_VQ_PAIRS_SET, pairs, 2)) {
            ebb_warn("virtio-net: the device refused %u queue pairs; using one", n->npairs);
            n->npairs = 1;
        }
    }
    return 0;
}

static void print_setup(struct vnet *n)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {NET_F_CSUM, "csum"}, {NET_F_GUEST_CSUM, "guest_csum"}, {NET_F_HOST_TSO4, "host_tso4"},
        {NET_F_GUEST_TSO4, "guest_tso4"}, {NET_F_MRG_RXBUF, "mrg_rxbuf"}, {NET_F_STATUS, "status"},
        {NET_F_CTRL_VQ, "ctrl_vq"}, {NET_F_MQ, "mq"}, {VIRTIO_F_RING_EVENT_IDX, "event_idx"},
    };
    char feats[160] = "";
    size_t len = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (n->dev.features & names[i].bit && len < sizeof feats)
            len += (size_t)snprintf(feats + len, sizeof feats - len, " %s", names[i].name);
    const uint8_t *m = n->mac;
    char irq[24];
    snprintf(irq, sizeof irq, n->dev.msix ? "MSI-X" : "INTx (IRQ %u)", n->dev.pci->irq_line);
    printf("virtio-net: %02x:%02x:%02x:%02x:%02x:%02x, %s, %s, %u queue pair%s, features:%s\n",
           m[0], m[1], m[2], m[3], m[4], m[5], n->dev.modern ? "modern" : "legacy", irq, n->npairs, n->npairs == 1 ? "" : "s", len ? feats : " none");
}

/* vnet_stats=S: the queues' counters every S seconds. */
static struct ebb_timer stats_timer;

static void print_stats(void *arg)
{
    struct vnet *n = arg;
    char line[1024];
    size_t len = (size_t)snprintf(line, sizeof line, "virtio-net stats:");
    for (unsigned k = 0; k < n->npairs && len < sizeof line; k++) {
        const struct vnet_stats *st = &n->rx[k].st;
        len += (size_t)snprintf(line + len, sizeof line - len,
                                " q%u rx=%llu irqs=%llu polled=%llu polls=%llu/%llu/%llu tx=%llu full=%llu lost=%llu/%llu"
                                " tso=%llu rxcsum=%llu rxgso=%llu;", k,
                                (unsigned long long)st->rx_packets, (unsigned long long)st->rx_irqs,
                                (unsigned long long)st->rx_polled, (unsigned long long)st->poll_entries,
                                (unsigned long long)st->poll_exits, (unsigned long long)st->poll_steals,
                                (unsigned long long)n->tx[k].packets,
                                (unsigned long long)n->tx[k].full_drops, (unsigned long long)st->lost_irqs,
                                (unsigned long long)st->lost_kicks, (unsigned long long)n->tx[k].tso,
                                (unsigned long long)st->rx_csum, (unsigned long long)st->rx_gso);
    }
    printf("%s\n", line);
    ebb_timer_start(&stats_timer, (uint64_t)ebb_config_int("vnet_stats", 0, 0, 3600) * 1000000000ull,
                    print_stats, n);
}

int virtio_net_open(ebb_id_t *id)
{
    if (the_vnet) {
        ebb_warn("virtio-net: already open");
        return -EBUSY;
    }
    const char *off = ebb_config_str("offload", "on");
    if (strcmp(off, "on") != 0 && strcmp(off, "off") != 0) {
        ebb_warn("virtio-net: offload=%s: expected on or off", off);
        return -EINVAL;
    }
    struct vnet *n = aligned_alloc(64, sizeof *n);
    if (!n)
        return -ENOMEM;
    memset(n, 0, sizeof *n);
    n->ops = &vnet_ops;
    n->offload = strcmp(off, "on") == 0;
    n->poll = ebb_config_int("net_poll", 1, 0, 1);
    n->poll_window_ns = (uint64_t)ebb_config_int("net_poll_window_us", POLL_WINDOW_US, 1, 1000000) * 1000;
    n->poll_enter = (unsigned)ebb_config_int("net_poll_enter", POLL_ENTER, 1, 1000000);
    n->poll_exit = (unsigned)ebb_config_int("net_poll_exit", POLL_EXIT, 1, 1000000);
    n->poll_hold = (unsigned)ebb_config_int("net_poll_hold", POLL_HOLD, 1, 1000000);
    n->poll_steal_ns = (uint64_t)ebb_config_int("net_poll_steal_us", POLL_STEAL_US, 1, 1000000) * 1000;
    n->poll_backoff_ns = (uint64_t)ebb_config_int("net_poll_backoff_ms", POLL_BACKOFF_MS, 0, 100000) * 1000000;
    int err = open_device(n);
    if (err)
        return err; /* the device may still hold buffers: n stays */
    print_setup(n);
    if (n->dev.features & NET_F_STATUS && !(virtio_cfg16(&n->dev, 6) & NET_S_LINK_UP))
        ebb_warn("virtio-net: the link is down (no network behind the device?)");
    n->root = (struct ebb_root){
        .name = "virtio-net", .iface = NETIF_IFACE, .kind = EBB_SHARED, .create_rep = vnet_rep, .arg = n,
    };
    *id = ebb_id_alloc();
    err = *id ? ebb_bind(*id, &n->root) : -ENOSPC;
    if (err)
        return err;
    the_vnet = n;
    for (unsigned k = 0; k < n->npairs; k++)
        ebb_spawn_on(n->rx[k].core, queue_check_start, &n->rx[k]);
    if (ebb_config_int("vnet_stats", 0, 0, 3600))
        print_stats(n);
    return 0;
}

void virtio_net_info(struct virtio_net_info *out)
{
    memset(out, 0, sizeof *out);
    struct vnet *n = the_vnet;
    if (!n)
        return;
    out->modern = n->dev.modern;
    out->msix = n->dev.msix;
    out->features = n->dev.features;
    out->pairs = n->npairs;
    memcpy(out->mac, n->mac, 6);
    for (unsigned k = 0; k < n->npairs && k < MAX_PAIRS; k++) {
        out->queue[k] = n->rx[k].st;
        out->queue[k].tx_packets = n->tx[k].packets;
        out->queue[k].tx_full_drops = n->tx[k].full_drops;
        out->queue[k].tx_kicks = n->tx[k].vq.kicks;
        out->queue[k].tx_tso = n->tx[k].tso;
    }
}

/* ---- the image's network from its configuration ---- */

static struct ebb_timer dhcp_warn_timer;

static void dhcp_warn(void *arg)
{
    struct net_stack *s = arg;
    if (net_addr(net_stack_net(s)) == 0)
        ebb_warn("net: no DHCP answer after 5 s: is the device connected to a network with a "
               "DHCP server? (still trying; ip=A.B.C.D/N sets an address)");
}

ebb_future_t net_start_from_config(void)
{
    const char *netif = ebb_config_str("netif", "virtio");
    if (strcmp(netif, "virtio") != 0) {
        ebb_warn("net: netif=%s: a native image has only netif=virtio", netif);
        return ebb_future_failed(EINVAL);
    }
    struct net_stack_config cfg;
    if (net_config_read(&cfg))
        return ebb_future_failed(EINVAL);
    ebb_id_t id;
    int err = virtio_net_open(&id);
    if (err)
        return ebb_future_failed(-err);
    struct net_stack *s = net_stack_new(id, &cfg);
    if (!s)
        return ebb_future_failed(ENOMEM);
    if (!cfg.ip)
        ebb_timer_start(&dhcp_warn_timer, 5000000000ull, dhcp_warn, s);
    return net_stack_up(s);
}
