/* The in-memory wire (wire.h). A frame is copied as it crosses (as on a real wire, and so a
 * corrupted byte never touches the sender's retransmission queue), then delivered as an event
 * on the receiving side's core, at once or after a delay when reordered. */
#include "net/wire.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/event.h"
#include "net/internal.h"

struct wire;

struct wire_side {
    const struct netif *ops; /* first: a rep */
    struct wire *w;
    unsigned idx;
    unsigned core;
    uint8_t mac[6];
    struct net_stack *stack;
    struct ebb_root root;
};

struct wire {
    struct wire_side side[2];
    int lock;
    struct wire_faults f;
    uint64_t rng;
    struct wire_counts counts;
};

struct in_flight {
    struct wire_side *to;
    struct iobuf *frame;
    uint64_t delay_ns;
    struct ebb_timer timer;
};

static uint64_t rnd(struct wire *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void arrive(void *arg)
{
    struct in_flight *f = arg;
    if (f->to->stack)
        net_stack_input(f->to->stack, f->frame);
    else
        iobuf_free(f->frame);
    free(f);
}

static void land(void *arg)
{
    struct in_flight *f = arg;
    if (f->delay_ns)
        ebb_timer_start(&f->timer, f->delay_ns, arrive, f);
    else
        arrive(f);
}

static void carry(struct wire_side *to, struct iobuf *frame, uint64_t delay_ns)
{
    struct in_flight *f = calloc(1, sizeof *f);
    if (!f) {
        iobuf_free(frame);
        return;
    }
    f->to = to;
    f->frame = frame;
    f->delay_ns = delay_ns;
    ebb_spawn_on(to->core, land, f);
}

/* What a device does with a partial checksum (net/netif.h): sums from csum_start to the end,
 * the field's pseudo-header sum included, and stores the result in the field. */
static void complete_csum(struct iobuf *f)
{
    const struct iobuf_offload *o = &f->offload;
    size_t at = (size_t)o->csum_start + o->csum_offset;
    if ((o->flags & IOBUF_CSUM_PARTIAL) && o->csum_start < f->len && at + 2 <= f->len)
        wr16(f->data + at, csum_fold(csum_add(0, f->data + o->csum_start, f->len - o->csum_start)));
    f->offload = (struct iobuf_offload){0};
}

static int wire_send(void *rep, struct iobuf *frame)
{
    struct wire_side *me = rep;
    struct wire *w = me->w;
    struct wire_side *to = &w->side[!me->idx];
    struct iobuf *copy = iobuf_coalesce_copy(frame, 0);
    iobuf_free(frame);
    if (!copy)
        return -ENOMEM;
    if (w->f.tx_csum)
        complete_csum(copy);
    spin_lock(&w->lock);
    w->counts.frames++;
    bool lose = rnd(w) % 100 < w->f.loss_pct;
    bool corrupt = rnd(w) % 100 < w->f.corrupt_pct;
    bool dup = rnd(w) % 100 < w->f.dup_pct;
    bool reorder = rnd(w) % 100 < w->f.reorder_pct;
    uint64_t where = rnd(w), flip = rnd(w);
    uint64_t delay = (uint64_t)(w->f.reorder_delay_us ? w->f.reorder_delay_us : 500) * 1000;
    if (lose)
        w->counts.lost++;
    else {
        w->counts.corrupted += corrupt;
        w->counts.duplicated += dup;
        w->counts.reordered += reorder;
    }
    spin_unlock(&w->lock);
    if (lose) {
        iobuf_free(copy);
        return 0;
    }
    if (corrupt && copy->len)
        copy->data[where % copy->len] ^= (uint8_t)(1u << (flip % 8));
    if (dup) {
        struct iobuf *again = iobuf_coalesce_copy(copy, 0);
        if (again)
            carry(to, again, delay / 2);
    }
    carry(to, copy, reorder ? delay : 0);
    return 0;
}

static void wire_attach(void *rep, struct net_stack *s) { ((struct wire_side *)rep)->stack = s; }
static void wire_mac(void *rep, uint8_t *out) { memcpy(out, ((struct wire_side *)rep)->mac, 6); }
static unsigned wire_mtu(void *rep) { (void)rep; return 1500; }
static unsigned wire_features(void *rep) { return ((struct wire_side *)rep)->w->f.tx_csum ? NETIF_F_TX_CSUM : 0; }

static const struct netif wire_ops = {
    .attach = wire_attach, .send = wire_send, .mac = wire_mac, .mtu = wire_mtu,
    .features = wire_features,
};

static void *side_rep(struct ebb_root *root, unsigned core)
{
    (void)core;
    return root->arg;
}

int wire_create(const struct wire_faults *f, const unsigned cores[2], ebb_id_t ids[2])
{
    static _Atomic unsigned wires;
    struct wire *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->f = *f;
    w->rng = f->seed ? f->seed : 0x853c49e6748fea9bull;
    unsigned n = atomic_fetch_add(&wires, 1);
    for (unsigned i = 0; i < 2; i++) {
        struct wire_side *sd = &w->side[i];
        sd->ops = &wire_ops;
        sd->w = w;
        sd->idx = i;
        sd->core = cores[i];
        uint8_t mac[6] = {0x02, 0x77, 0x69, (uint8_t)(n >> 8), (uint8_t)n, (uint8_t)(i + 1)};
        memcpy(sd->mac, mac, 6);
        sd->root = (struct ebb_root){
            .name = "wire", .iface = NETIF_IFACE, .kind = EBB_SHARED, .create_rep = side_rep,
            .arg = sd,
        };
        ids[i] = ebb_id_alloc();
        if (!ids[i])
            return -ENOSPC;
        int err = ebb_bind(ids[i], &sd->root);
        if (err)
            return err;
    }
    return 0;
}

static struct wire *wire_of(ebb_id_t side)
{
    return ((struct wire_side *)netif_rep(side))->w;
}

void wire_counts(ebb_id_t side, struct wire_counts *out)
{
    struct wire *w = wire_of(side);
    spin_lock(&w->lock);
    *out = w->counts;
    spin_unlock(&w->lock);
}

void wire_set_faults(ebb_id_t side, const struct wire_faults *f)
{
    struct wire *w = wire_of(side);
    spin_lock(&w->lock);
    uint64_t seed = w->rng;
    bool tx_csum = w->f.tx_csum; /* the stacks read the features once */
    w->f = *f;
    w->f.tx_csum = tx_csum;
    w->rng = f->seed ? f->seed : seed;
    spin_unlock(&w->lock);
}
