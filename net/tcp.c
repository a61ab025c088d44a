/* TCP (RFC 9293): the full state machine, MSS and window scale (RFC 7323), retransmission with
 * RFC 6298's RTO and exponential backoff (Karn's rule for samples), fast retransmit and NewReno
 * recovery (RFC 6582), the persist timer for a zero window, out-of-order segments kept and
 * reassembled, challenge ACKs for in-window RSTs and SYNs (RFC 5961).
 *
 * There is no socket buffer: received data goes straight to the application's handler; what the
 * application sends (within the window it was offered) is cut into segments kept until ACKed.
 * A connection is owned by one core: its state is touched only there. Segments arrive on the
 * interface's core, find the connection in a hash table read without locks (entries are freed
 * after an RCU grace period) and are forwarded to the owner if it is another core. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net/internal.h"

enum tcp_state {
    CLOSED, SYN_SENT, SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING,
    LAST_ACK, TIME_WAIT
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

#define RCV_WSCALE 7
#define RCV_WND (1u << 20)
#define RTO_INIT_MS 1000
#define RTO_MAX_MS 60000
#define SYN_RETRIES 6
#define DATA_RETRIES 12
#define BACKLOG_MAX 256
#define OOO_MAX 4096
#define MS 1000000ull

struct tcp_seg {
    struct tcp_seg *next;
    uint32_t seq;
    uint32_t len;        /* sequence space: payload, plus one for SYN or FIN */
    uint8_t flags;       /* TH_SYN / TH_FIN */
    bool sent;           /* sent at least once: a resend is a retransmission (Karn) */
    bool rexmit;
    uint64_t sent_ns;
    struct iobuf *data;
};

struct ooo_seg {
    struct ooo_seg *next;
    uint32_t seq, len;   /* len: payload + FIN */
    bool fin;
    struct iobuf *data;
};

struct tcp_lpcb {
    struct tcp_listener l; /* first: the application's handle */
    struct net_stack *s;
    uint16_t port;
    unsigned core;
    tcp_accept_fn fn;
    void *arg;
    _Atomic bool closed;
    _Atomic unsigned pending;
    struct tcp_lpcb *next;
};

enum timer_kind { T_NONE, T_RTO, T_PERSIST, T_TIME_WAIT };

struct tcp_pcb {
    struct tcp_conn conn; /* first: the application's handle */
    struct net_stack *s;
    _Atomic(struct tcp_pcb *) hnext;
    ip4_t lip, rip;
    uint16_t lport, rport;
    enum tcp_state state;
    bool hashed, freed;

    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint8_t snd_wscale, rcv_wscale;
    uint16_t mss;
    uint32_t cwnd, ssthresh, recover;
    unsigned dupacks;
    bool in_recovery;
    struct tcp_seg *q, *q_tail, *nxt_seg; /* q: from snd_una; nxt_seg: at snd_nxt */

    int64_t srtt_us, rttvar_us;
    bool have_rtt;
    uint32_t rto_ms;
    unsigned retries;
    unsigned persist_shift;

    uint32_t irs, rcv_nxt, rcv_wnd;
    struct ooo_seg *ooo;
    unsigned nooo;
    bool sack_ok;            /* both sides sent SACK-permitted: our ACKs carry SACK blocks */
    uint32_t last_ooo_seq;   /* the block holding it goes first (RFC 2018) */
    unsigned segs_unacked;

    struct ebb_timer timer;
    enum timer_kind timer_kind;

    bool ack_pending;
    struct tcp_pcb *ack_next;

    bool connecting;
    ebb_promise_t promise;
    struct tcp_lpcb *listener;

    bool in_input;  /* a segment is being processed: a move waits for its end */
    int move_to;    /* -1, or the core tcp_bind_core() asked for */
};

/* A parsed segment. */
struct seg {
    ip4_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint32_t wnd;
    int mss;        /* -1: absent */
    int wscale;     /* -1: absent */
    bool sack_perm;
    bool has_sack;  /* carries SACK blocks */
    size_t doff;    /* TCP header bytes */
    size_t plen;    /* payload bytes */
    struct iobuf *pkt; /* view at the payload */
};

static const struct tcp_conn_ops pcb_ops;
static void tcp_output(struct tcp_pcb *p);
static void do_move(struct tcp_pcb *p, unsigned core);
static void forward(struct net_stack *s, unsigned core, ip4_t src, ip4_t dst, struct iobuf *pkt);
static void pcb_destroy(struct tcp_pcb *p);

/* The connection table. */

static unsigned hash4(ip4_t rip, uint16_t rport, uint16_t lport)
{
    uint32_t h = rip * 0x9e3779b1u ^ ((uint32_t)rport << 16 | lport) * 0x85ebca77u;
    return (h ^ h >> 15) & ((1u << TCP_HASH_BITS) - 1);
}

static struct tcp_pcb *lookup(struct net_stack *s, ip4_t rip, uint16_t rport, ip4_t lip,
                              uint16_t lport)
{
    struct tcp_pcb *p = atomic_load_explicit(&s->tcp_hash[hash4(rip, rport, lport)],
                                             memory_order_acquire);
    for (; p; p = atomic_load_explicit(&p->hnext, memory_order_acquire))
        if (p->rip == rip && p->rport == rport && p->lport == lport && p->lip == lip)
            return p;
    return NULL;
}

/* Called with tcp_lock held. */
static void hash_insert(struct tcp_pcb *p)
{
    _Atomic(struct tcp_pcb *) *b = &p->s->tcp_hash[hash4(p->rip, p->rport, p->lport)];
    atomic_store_explicit(&p->hnext, atomic_load_explicit(b, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(b, p, memory_order_release);
    p->hashed = true;
}

static void hash_remove(struct tcp_pcb *p)
{
    struct net_stack *s = p->s;
    net_lock(&s->tcp_lock);
    _Atomic(struct tcp_pcb *) *pp = &s->tcp_hash[hash4(p->rip, p->rport, p->lport)];
    for (struct tcp_pcb *q; (q = atomic_load_explicit(pp, memory_order_relaxed)); pp = &q->hnext)
        if (q == p) {
            /* Readers may still be on p: its hnext stays valid until the grace period ends. */
            atomic_store_explicit(pp, atomic_load_explicit(&p->hnext, memory_order_relaxed),
                                  memory_order_release);
            break;
        }
    p->hashed = false;
    net_unlock(&s->tcp_lock);
}

/* Output. */

static uint16_t wnd_field(struct tcp_pcb *p, bool syn)
{
    uint32_t w = syn ? p->rcv_wnd : p->rcv_wnd >> p->rcv_wscale;
    return (uint16_t)(w > 0xffff ? 0xffff : w);
}

/* Sends one segment; data (if any) is cloned, not taken. */
static void xmit(struct net_stack *s, ip4_t lip, uint16_t lport, ip4_t rip, uint16_t rport,
                 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts,
                 size_t optlen, struct iobuf *data)
{
    struct iobuf *pkt = iobuf_alloc(NET_HEADROOM + TCP_HLEN + 40, NET_HEADROOM);
    if (!pkt)
        return;
    size_t hlen = TCP_HLEN + optlen;
    uint8_t *h = iobuf_append(pkt, hlen);
    wr16(h, lport);
    wr16(h + 2, rport);
    wr32(h + 4, seq);
    wr32(h + 8, ack);
    h[12] = (uint8_t)((hlen / 4) << 4);
    h[13] = flags;
    wr16(h + 14, wnd);
    wr16(h + 16, 0);
    wr16(h + 18, 0);
    if (optlen)
        memcpy(h + TCP_HLEN, opts, optlen);
    if (data) {
        struct iobuf *c = iobuf_clone(data);
        if (!c) {
            iobuf_free(pkt);
            return;
        }
        pkt = iobuf_chain_append(pkt, c);
    }
    size_t len = iobuf_chain_len(pkt);
    wr16(h + 16, csum_fold(csum_add_chain(csum_pseudo(lip, rip, IP_PROTO_TCP, (uint16_t)len), pkt, 0)));
    ip_output(s, lip, rip, IP_PROTO_TCP, pkt);
}

static void unlink_ack(struct tcp_pcb *p)
{
    struct net_percore *pc = &p->s->percore[ebb_core()];
    for (struct tcp_pcb **pp = &pc->ack_list; *pp; pp = &(*pp)->ack_next)
        if (*pp == p) {
            *pp = p->ack_next;
            break;
        }
    p->ack_pending = false;
    p->ack_next = NULL;
}

/* SACK option (RFC 2018) describing what the out-of-order queue holds: up to 3 blocks, the
 * one with the latest arrival first, then the highest. Returns its length. */
static size_t sack_option(struct tcp_pcb *p, uint8_t *o)
{
    uint32_t l[16], r[16];
    unsigned n = 0;
    for (struct ooo_seg *s = p->ooo; s; s = s->next) {
        uint32_t end = s->seq + s->len;
        if (n && SEQ_LEQ(s->seq, r[n - 1])) {
            if (SEQ_GT(end, r[n - 1]))
                r[n - 1] = end;
        } else if (n < 16) {
            l[n] = s->seq;
            r[n++] = end;
        }
    }
    if (!n)
        return 0;
    unsigned order[3], k = 0;
    for (unsigned i = 0; i < n && k < 1; i++)
        if (SEQ_GEQ(p->last_ooo_seq, l[i]) && SEQ_LT(p->last_ooo_seq, r[i]))
            order[k++] = i;
    for (unsigned i = n; i-- > 0 && k < 3;)
        if (k == 0 || i != order[0])
            order[k++] = i;
    o[0] = 1; o[1] = 1; o[2] = 5; o[3] = (uint8_t)(2 + 8 * k);
    for (unsigned i = 0; i < k; i++) {
        wr32(o + 4 + 8 * i, l[order[i]]);
        wr32(o + 8 + 8 * i, r[order[i]]);
    }
    return 4 + 8 * k;
}

static void send_seg(struct tcp_pcb *p, uint32_t seq, uint8_t flags, struct iobuf *data)
{
    uint8_t opts[40];
    size_t optlen = 0;
    if (flags & TH_SYN) {
        opts[0] = 2; opts[1] = 4; wr16(opts + 2, (uint16_t)(p->s->mtu - 40));
        optlen = 4;
        if (p->state == SYN_SENT || p->rcv_wscale) {
            opts[4] = 1; opts[5] = 3; opts[6] = 3; opts[7] = RCV_WSCALE;
            optlen = 8;
        }
        if ((p->state == SYN_SENT && p->s->sack) || p->sack_ok) {
            opts[optlen] = 1; opts[optlen + 1] = 1; opts[optlen + 2] = 4; opts[optlen + 3] = 2;
            optlen += 4;
        }
    } else if (p->sack_ok && p->ooo) {
        /* Only where it fits: a full-sized segment has no room for options. */
        optlen = sack_option(p, opts);
        if (data && iobuf_chain_len(data) + optlen > p->s->mtu - 40)
            optlen = 0;
    }
    if (p->state != SYN_SENT)
        flags |= TH_ACK;
    if (flags & TH_ACK) {
        if (p->ack_pending)
            unlink_ack(p);
        p->segs_unacked = 0;
    }
    xmit(p->s, p->lip, p->lport, p->rip, p->rport, seq, p->rcv_nxt, flags,
         wnd_field(p, flags & TH_SYN), opts, optlen, data);
}

/* A pure ACK carries snd_max, not snd_nxt: after a timeout snd_nxt goes back to snd_una, and the
 * peer (which may hold data beyond it) would find that sequence number below its window and drop
 * the ACK, each side then waiting for the other. */
static void send_ack(struct tcp_pcb *p) { send_seg(p, p->snd_max, TH_ACK, NULL); }

static void flush_acks(void *arg)
{
    struct net_stack *s = arg;
    struct net_percore *pc = &s->percore[ebb_core()];
    pc->ack_flush_scheduled = false;
    while (pc->ack_list) {
        struct tcp_pcb *p = pc->ack_list;
        pc->ack_list = p->ack_next;
        p->ack_next = NULL;
        p->ack_pending = false;
        if (p->state != CLOSED)
            send_ack(p);
    }
}

/* Acknowledges after the events queued now (a batch of received frames) have run, so one ACK
 * covers them and a reply the application sends meanwhile carries it. */
static void ack_later(struct tcp_pcb *p)
{
    if (p->ack_pending)
        return;
    struct net_percore *pc = &p->s->percore[ebb_core()];
    p->ack_pending = true;
    p->ack_next = pc->ack_list;
    pc->ack_list = p;
    if (!pc->ack_flush_scheduled) {
        pc->ack_flush_scheduled = true;
        ebb_spawn(flush_acks, p->s);
    }
}

static void send_rst_for(struct net_stack *s, const struct seg *g)
{
    if (g->flags & TH_RST)
        return;
    NET_STAT(s, tcp_rst_sent);
    if (g->flags & TH_ACK)
        xmit(s, g->dst, g->dport, g->src, g->sport, g->ack, 0, TH_RST, 0, NULL, 0, NULL);
    else {
        uint32_t len = (uint32_t)g->plen + !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
        xmit(s, g->dst, g->dport, g->src, g->sport, 0, g->seq + len, TH_RST | TH_ACK, 0, NULL, 0,
             NULL);
    }
}

/* Timers. */

static void tcp_timer(void *arg);

static void timer_set(struct tcp_pcb *p, enum timer_kind k, uint64_t ms)
{
    ebb_timer_cancel(&p->timer);
    p->timer_kind = k;
    ebb_timer_start(&p->timer, ms * MS, tcp_timer, p);
}

static void timer_stop(struct tcp_pcb *p)
{
    ebb_timer_cancel(&p->timer);
    p->timer_kind = T_NONE;
}

static uint32_t rto_now(struct tcp_pcb *p) { return p->rto_ms; }

/* After the send state changed: retransmission timer while something is in flight; persist
 * timer while the peer's window is zero. */
static void rearm(struct tcp_pcb *p, bool restart)
{
    if (p->state == TIME_WAIT || p->state == CLOSED)
        return;
    if (p->snd_una != p->snd_nxt) {
        if (restart || p->timer_kind != T_RTO)
            timer_set(p, T_RTO, rto_now(p));
    } else if (p->nxt_seg) {
        /* Queued, nothing in flight, and the window too small for it: probe. */
        if (p->timer_kind != T_PERSIST) {
            p->persist_shift = 0;
            timer_set(p, T_PERSIST, rto_now(p));
        }
    } else if (p->snd_wnd == 0 && (p->state == ESTABLISHED || p->state == CLOSE_WAIT)) {
        /* Nothing queued, but the application waits for the window: probe it open. */
        if (p->timer_kind != T_PERSIST) {
            p->persist_shift = 0;
            timer_set(p, T_PERSIST, rto_now(p));
        }
    } else if (p->timer_kind != T_NONE) {
        timer_stop(p);
    }
}

static void compute_rto(struct tcp_pcb *p)
{
    int64_t var = 4 * p->rttvar_us;
    if (var < 1000)
        var = 1000; /* clock granularity G: 1 ms */
    uint64_t rto = (uint64_t)(p->srtt_us + var + 999) / 1000;
    if (rto < p->s->rto_min_ms)
        rto = p->s->rto_min_ms;
    if (rto > RTO_MAX_MS)
        rto = RTO_MAX_MS;
    p->rto_ms = (uint32_t)rto;
}

static void rtt_sample(struct tcp_pcb *p, uint64_t rtt_ns)
{
    int64_t r = (int64_t)(rtt_ns / 1000);
    if (!p->have_rtt) {
        p->srtt_us = r;
        p->rttvar_us = r / 2;
        p->have_rtt = true;
    } else {
        int64_t d = p->srtt_us - r;
        if (d < 0)
            d = -d;
        p->rttvar_us = (3 * p->rttvar_us + d) / 4;
        p->srtt_us = (7 * p->srtt_us + r) / 8;
    }
    compute_rto(p);
}

static uint32_t flight(struct tcp_pcb *p) { return p->snd_max - p->snd_una; }

/* The congestion window, plus limited transmit (RFC 3042): each of the first two duplicate
 * ACKs lets one new segment out, so a small window still earns its third duplicate ACK. */
static uint32_t eff_cwnd(struct tcp_pcb *p)
{
    if (!p->in_recovery && p->dupacks > 0 && p->dupacks < 3)
        return p->cwnd + p->dupacks * p->mss;
    return p->cwnd;
}

/* Duplicate ACKs that mean loss: three, or fewer when so few segments are out that three
 * could never come back (early retransmit, RFC 5827). */
static unsigned dupthresh(struct tcp_pcb *p)
{
    uint32_t segs = (flight(p) + p->mss - 1) / p->mss;
    return segs >= 2 && segs < 4 ? segs - 1 : 3;
}

static void enter_loss(struct tcp_pcb *p)
{
    uint32_t half = flight(p) / 2;
    p->ssthresh = half > 2u * p->mss ? half : 2u * p->mss;
    p->cwnd = p->mss;
    p->in_recovery = false;
    p->dupacks = 0;
    p->recover = p->snd_max;
}

static void retransmit_first(struct tcp_pcb *p)
{
    struct tcp_seg *g = p->q;
    if (!g)
        return;
    NET_STAT(p->s, tcp_retransmits);
    g->rexmit = true;
    g->sent_ns = ebb_now_ns();
    send_seg(p, g->seq, g->flags | (g->data ? TH_PSH : 0), g->data);
}

static void fail(struct tcp_pcb *p, int err);

static void tcp_timer(void *arg)
{
    struct tcp_pcb *p = arg;
    enum timer_kind k = p->timer_kind;
    p->timer_kind = T_NONE;
    switch (k) {
    case T_NONE:
        return;
    case T_TIME_WAIT:
        pcb_destroy(p);
        return;
    case T_PERSIST: {
        /* A zero-length segment just below the window: the peer answers with an ACK that
         * carries its current window. */
        NET_STAT(p->s, tcp_persist_probes);
        xmit(p->s, p->lip, p->lport, p->rip, p->rport, p->snd_una - 1, p->rcv_nxt, TH_ACK,
             wnd_field(p, false), NULL, 0, NULL);
        if (p->persist_shift < 6)
            p->persist_shift++;
        uint64_t ms = (uint64_t)rto_now(p) << p->persist_shift;
        timer_set(p, T_PERSIST, ms > RTO_MAX_MS ? RTO_MAX_MS : ms);
        return;
    }
    case T_RTO:
        break;
    }
    if (!p->q)
        return;
    NET_STAT(p->s, tcp_timeouts);
    unsigned limit = (p->state == SYN_SENT || p->state == SYN_RCVD) ? SYN_RETRIES : DATA_RETRIES;
    if (++p->retries > limit) {
        fail(p, ETIMEDOUT);
        return;
    }
    p->rto_ms = p->rto_ms * 2 > RTO_MAX_MS ? RTO_MAX_MS : p->rto_ms * 2;
    if (p->state != SYN_SENT && p->state != SYN_RCVD)
        enter_loss(p);
    /* Go back: everything from snd_una is sent again as the window allows. */
    p->snd_nxt = p->snd_una;
    p->nxt_seg = p->q;
    tcp_output(p);
    timer_set(p, T_RTO, rto_now(p));
}

/* Sends queued segments from snd_nxt as the congestion and the peer's windows allow. */
static void tcp_output(struct tcp_pcb *p)
{
    while (p->nxt_seg) {
        struct tcp_seg *g = p->nxt_seg;
        uint32_t cw = eff_cwnd(p);
        uint32_t wnd = cw < p->snd_wnd ? cw : p->snd_wnd;
        uint32_t in_flight = p->snd_nxt - p->snd_una;
        bool control = g->data == NULL; /* SYN or FIN alone: not held back by the window */
        if (!control && in_flight + g->len > wnd && !(in_flight == 0 && p->snd_wnd >= g->len))
            break;
        if (g->sent) {
            g->rexmit = true;
            NET_STAT(p->s, tcp_retransmits);
        }
        g->sent = true;
        g->sent_ns = ebb_now_ns();
        send_seg(p, g->seq, g->flags | (g->data ? TH_PSH : 0), g->data);
        p->snd_nxt = g->seq + g->len;
        p->nxt_seg = g->next;
    }
    rearm(p, false);
}

static void queue_seg(struct tcp_pcb *p, uint8_t flags, struct iobuf *data, uint32_t len)
{
    struct tcp_seg *g = calloc(1, sizeof *g);
    if (!g)
        ebb_panic("tcp: out of memory for a segment");
    g->seq = p->snd_max;
    g->len = len;
    g->flags = flags;
    g->data = data;
    if (p->q_tail)
        p->q_tail->next = g;
    else
        p->q = g;
    p->q_tail = g;
    if (!p->nxt_seg)
        p->nxt_seg = g;
    p->snd_max += len;
}

/* Connection setup and teardown. */

static struct tcp_pcb *pcb_new(struct net_stack *s, unsigned core)
{
    struct tcp_pcb *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    tcp_conn_init(&p->conn, &pcb_ops, core);
    p->s = s;
    p->iss = (uint32_t)net_random(s);
    p->snd_una = p->snd_nxt = p->snd_max = p->iss;
    p->rto_ms = RTO_INIT_MS;
    p->rcv_wnd = RCV_WND;
    p->rcv_wscale = RCV_WSCALE;
    p->mss = 536;
    p->cwnd = 10u * 536;
    p->ssthresh = 0xffffffffu;
    p->recover = p->iss;
    p->move_to = -1;
    return p;
}

static void apply_syn_options(struct tcp_pcb *p, const struct seg *g)
{
    uint32_t mss = g->mss >= 0 ? (uint32_t)g->mss : 536;
    if (mss > p->s->mtu - 40)
        mss = p->s->mtu - 40;
    if (mss < 64)
        mss = 64;
    p->mss = (uint16_t)mss;
    if (g->wscale >= 0) {
        p->snd_wscale = (uint8_t)(g->wscale > 14 ? 14 : g->wscale);
    } else {
        p->snd_wscale = 0;
        p->rcv_wscale = 0;
        p->rcv_wnd = 0xffff;
    }
    p->cwnd = 10u * p->mss;
    p->sack_ok = g->sack_perm && p->s->sack;
}

static void free_queues(struct tcp_pcb *p)
{
    while (p->q) {
        struct tcp_seg *g = p->q;
        p->q = g->next;
        iobuf_free(g->data);
        free(g);
    }
    p->q_tail = p->nxt_seg = NULL;
    while (p->ooo) {
        struct ooo_seg *o = p->ooo;
        p->ooo = o->next;
        iobuf_free(o->data);
        free(o);
    }
    p->nooo = 0;
}

static void free_pcb(void *arg)
{
    struct tcp_pcb *p = arg;
    iobuf_free(p->conn.sendq);
    free(p);
}

/* Memory goes when both the protocol (CLOSED) and the application (released) are done. */
static void maybe_free(struct tcp_pcb *p)
{
    if (p->state == CLOSED && p->conn.released && !p->freed) {
        p->freed = true;
        net_rcu_defer(free_pcb, p);
    }
}

static void pcb_destroy(struct tcp_pcb *p)
{
    if (p->state == CLOSED)
        return;
    if (p->state == SYN_RCVD && p->listener)
        atomic_fetch_sub(&p->listener->pending, 1);
    p->state = CLOSED;
    timer_stop(p);
    if (p->ack_pending)
        unlink_ack(p);
    if (p->hashed)
        hash_remove(p);
    free_queues(p);
    maybe_free(p);
}

/* The connection ends badly: tell whoever holds it. */
static void fail(struct tcp_pcb *p, int err)
{
    bool connecting = p->connecting;
    bool app_has = !p->conn.released && (p->state != SYN_RCVD) && !connecting;
    pcb_destroy(p);
    if (connecting) {
        p->connecting = false;
        p->conn.released = true; /* the application never saw it */
        ebb_promise_fail(p->promise, err);
        maybe_free(p);
    } else if (app_has) {
        tcp_deliver_aborted(&p->conn, err);
    } else {
        p->conn.released = true;
        maybe_free(p);
    }
}

/* Input. */

static void deliver_window_if_grew(struct tcp_pcb *p, size_t before);
static size_t pcb_window(struct tcp_conn *c);

static void fin_arrived(struct tcp_pcb *p)
{
    p->rcv_nxt++;
    switch (p->state) {
    case ESTABLISHED:
        p->state = CLOSE_WAIT;
        break;
    case FIN_WAIT_1:
        if (p->snd_una == p->snd_max) {
            p->state = TIME_WAIT;
            timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
        } else {
            p->state = CLOSING;
        }
        break;
    case FIN_WAIT_2:
        p->state = TIME_WAIT;
        timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
        break;
    default:
        break;
    }
    send_ack(p);
    tcp_deliver_closed(&p->conn);
}

/* Hands in-order payload to the application; returns false if the connection went away. */
static bool deliver(struct tcp_pcb *p, struct iobuf *data)
{
    if (iobuf_chain_len(data) == 0) {
        iobuf_free(data);
        return p->state != CLOSED;
    }
    tcp_deliver_receive(&p->conn, data);
    return p->state != CLOSED;
}

static void ooo_insert(struct tcp_pcb *p, uint32_t seq, uint32_t len, bool fin, struct iobuf *data)
{
    struct ooo_seg **pp = &p->ooo;
    while (*pp && SEQ_LT((*pp)->seq, seq))
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq && (*pp)->len >= len) { /* already have it */
        iobuf_free(data);
        return;
    }
    if (p->nooo >= OOO_MAX) {
        iobuf_free(data);
        return;
    }
    struct ooo_seg *o = malloc(sizeof *o);
    if (!o) {
        iobuf_free(data);
        return;
    }
    *o = (struct ooo_seg){*pp, seq, len, fin, data};
    *pp = o;
    p->nooo++;
}

/* Segments that became in order after rcv_nxt moved. Returns false if the connection went. */
static bool ooo_drain(struct tcp_pcb *p)
{
    while (p->ooo && SEQ_LEQ(p->ooo->seq, p->rcv_nxt)) {
        struct ooo_seg *o = p->ooo;
        p->ooo = o->next;
        p->nooo--;
        uint32_t skip = p->rcv_nxt - o->seq;
        if (skip < o->len) {
            uint32_t plen = o->len - o->fin;
            struct iobuf *d = o->data;
            if (skip < plen) {
                d = iobuf_chain_trim_front(d, skip);
                p->rcv_nxt += plen - skip;
                o->data = NULL;
                if (!deliver(p, d)) {
                    free(o);
                    return false;
                }
            }
            if (o->fin && p->state != CLOSED) {
                fin_arrived(p);
                iobuf_free(o->data);
                free(o);
                return p->state != CLOSED;
            }
        }
        iobuf_free(o->data);
        free(o);
    }
    return true;
}

static void accept_established(struct tcp_pcb *p)
{
    struct tcp_lpcb *l = p->listener;
    atomic_fetch_sub(&l->pending, 1);
    p->listener = NULL;
    p->state = ESTABLISHED;
    NET_STAT(p->s, tcp_accepts);
    if (atomic_load(&l->closed)) {
        send_seg(p, p->snd_nxt, TH_RST, NULL);
        p->conn.released = true;
        pcb_destroy(p);
        return;
    }
    l->fn(l->arg, &p->conn);
}

/* ACK processing (RFC 9293 3.10.7.4 fifth step, with RFC 6298 and RFC 6582). Returns false if
 * the segment must be dropped. */
static bool process_ack(struct tcp_pcb *p, const struct seg *g)
{
    if (SEQ_GT(g->ack, p->snd_max)) {
        send_ack(p);
        return false;
    }
    uint32_t wnd = g->wnd << p->snd_wscale;
    if (SEQ_LT(g->ack, p->snd_una))
        return true; /* old: ignore the ACK, keep the data */

    /* Window update (only from newer segments). */
    bool wnd_changed = false;
    if (SEQ_LT(p->snd_wl1, g->seq) || (p->snd_wl1 == g->seq && SEQ_LEQ(p->snd_wl2, g->ack))) {
        wnd_changed = wnd != p->snd_wnd;
        p->snd_wnd = wnd;
        p->snd_wl1 = g->seq;
        p->snd_wl2 = g->ack;
    }

    if (g->ack == p->snd_una) {
        /* Duplicate ACK (RFC 5681): nothing new, no data, same window, data outstanding. A
         * SACK-bearing ACK counts whatever its window (RFC 6675): a receiver holding out-of-order
         * data may shrink its window with each one. */
        if (p->snd_una != p->snd_max && g->plen == 0 && !(g->flags & (TH_SYN | TH_FIN)) &&
            (!wnd_changed || g->has_sack)) {
            p->dupacks++;
            if (p->in_recovery) {
                p->cwnd += p->mss;
                tcp_output(p);
            } else if (p->dupacks >= dupthresh(p) && SEQ_GT(g->ack, p->recover)) {
                uint32_t half = flight(p) / 2;
                p->ssthresh = half > 2u * p->mss ? half : 2u * p->mss;
                p->recover = p->snd_max;
                p->in_recovery = true;
                NET_STAT(p->s, tcp_fast_retransmits);
                retransmit_first(p);
                p->cwnd = p->ssthresh + 3u * p->mss;
                timer_set(p, T_RTO, rto_now(p));
                tcp_output(p);
            } else {
                tcp_output(p); /* limited transmit */
            }
        } else if (wnd_changed) {
            tcp_output(p);
        }
        return true;
    }

    /* New data acknowledged. */
    uint32_t acked = g->ack - p->snd_una;
    uint64_t now = ebb_now_ns();
    bool sampled = false;
    p->snd_una = g->ack;
    p->retries = 0;
    p->persist_shift = 0;
    /* Karn: no sample if this ACK covers a retransmission (it may answer that, and segments
     * behind a repaired hole were held at the receiver); else time the newest covered one. */
    bool ambiguous = p->in_recovery;
    uint64_t newest = 0;
    while (p->q && SEQ_LEQ(p->q->seq + p->q->len, g->ack)) {
        struct tcp_seg *s = p->q;
        ambiguous |= s->rexmit || !s->sent;
        newest = s->sent_ns;
        p->q = s->next;
        if (p->nxt_seg == s)
            p->nxt_seg = s->next;
        iobuf_free(s->data);
        free(s);
    }
    if (!ambiguous && newest) {
        rtt_sample(p, now - newest);
        sampled = true;
    }
    if (!p->q)
        p->q_tail = NULL;
    else if (SEQ_LT(p->q->seq, g->ack)) {
        /* Partly acknowledged segment: keep only the rest. */
        struct tcp_seg *s = p->q;
        uint32_t k = g->ack - s->seq;
        s->data = iobuf_chain_trim_front(s->data, k);
        s->seq += k;
        s->len -= k;
    }
    if (SEQ_LT(p->snd_nxt, p->snd_una)) {
        p->snd_nxt = p->snd_una;
        p->nxt_seg = p->q;
    }
    if (!sampled && p->have_rtt)
        compute_rto(p); /* new data got through: drop the backoff */

    if (p->in_recovery) {
        if (SEQ_GEQ(g->ack, p->recover)) {
            uint32_t f = flight(p) + p->mss;
            p->cwnd = p->ssthresh < f ? p->ssthresh : f;
            p->in_recovery = false;
        } else {
            /* Partial ACK: the next hole is lost too. */
            retransmit_first(p);
            p->cwnd = p->cwnd > acked ? p->cwnd - acked : 0;
            p->cwnd += p->mss;
            timer_set(p, T_RTO, rto_now(p));
        }
    } else if (p->cwnd < p->ssthresh) {
        p->cwnd += acked < p->mss ? acked : p->mss;
    } else {
        uint32_t inc = (uint32_t)((uint64_t)p->mss * p->mss / p->cwnd);
        p->cwnd += inc ? inc : 1;
    }
    p->dupacks = 0;

    /* Our FIN acknowledged? */
    if (p->snd_una == p->snd_max) {
        switch (p->state) {
        case FIN_WAIT_1:
            p->state = FIN_WAIT_2;
            break;
        case CLOSING:
            p->state = TIME_WAIT;
            timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
            break;
        case LAST_ACK:
            pcb_destroy(p);
            return false;
        default:
            break;
        }
    }
    tcp_output(p);
    rearm(p, true);
    return true;
}

static void segment_synchronized(struct tcp_pcb *p, struct seg *g)
{
    uint32_t seg_len = (uint32_t)g->plen + !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
    struct iobuf *payload = g->pkt;
    g->pkt = NULL;

    /* SYN_RCVD and the peer's SYN again: our SYN-ACK was lost. */
    if (p->state == SYN_RCVD && (g->flags & TH_SYN) && !(g->flags & TH_ACK) && g->seq == p->irs) {
        struct tcp_seg *syn = p->q;
        if (syn)
            send_seg(p, syn->seq, TH_SYN, NULL);
        goto drop;
    }

    /* 1. Sequence number acceptable? */
    bool ok;
    uint32_t wnd = p->rcv_wnd;
    if (seg_len == 0)
        ok = wnd == 0 ? g->seq == p->rcv_nxt
                      : SEQ_GEQ(g->seq, p->rcv_nxt) && SEQ_LT(g->seq, p->rcv_nxt + wnd);
    else
        ok = wnd != 0 && ((SEQ_GEQ(g->seq, p->rcv_nxt) && SEQ_LT(g->seq, p->rcv_nxt + wnd)) ||
                          (SEQ_GEQ(g->seq + seg_len - 1, p->rcv_nxt) &&
                           SEQ_LT(g->seq + seg_len - 1, p->rcv_nxt + wnd)));
    if (!ok) {
        NET_STAT(p->s, tcp_out_of_window);
        if (!(g->flags & TH_RST)) {
            send_ack(p);
            if (p->state == TIME_WAIT)
                timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
        }
        goto drop;
    }

    /* 2. RST: exact match resets, otherwise a challenge ACK (RFC 5961). */
    if (g->flags & TH_RST) {
        if (g->seq != p->rcv_nxt) {
            send_ack(p);
            goto drop;
        }
        iobuf_free(payload);
        fail(p, ECONNRESET);
        return;
    }

    /* 4. SYN in a synchronized state: challenge ACK. */
    if (g->flags & TH_SYN) {
        send_ack(p);
        goto drop;
    }

    /* 5. ACK. */
    if (!(g->flags & TH_ACK))
        goto drop;
    if (p->state == SYN_RCVD) {
        if (SEQ_GT(g->ack, p->snd_una) && SEQ_LEQ(g->ack, p->snd_max)) {
            p->snd_wnd = g->wnd << p->snd_wscale;
            p->snd_wl1 = g->seq;
            p->snd_wl2 = g->ack;
            accept_established(p);
            if (p->state == CLOSED)
                goto drop;
            if (p->move_to >= 0) {
                /* Moved in the accept handler: the rest of this segment (its ACK, maybe data)
                 * is handled by the new owner, after the move. */
                unsigned core = (unsigned)p->move_to;
                p->move_to = -1;
                do_move(p, core);
                if (payload) {
                    iobuf_prepend(payload, g->doff);
                    forward(p->s, core, g->src, g->dst, payload);
                }
                return;
            }
        } else {
            send_rst_for(p->s, g);
            goto drop;
        }
    }
    size_t win_before = pcb_window(&p->conn);
    if (!process_ack(p, g) || p->state == CLOSED)
        goto drop;
    deliver_window_if_grew(p, win_before);
    if (p->state == CLOSED)
        goto drop;

    /* 7. Payload, 8. FIN. */
    if (p->state != ESTABLISHED && p->state != FIN_WAIT_1 && p->state != FIN_WAIT_2) {
        /* Data after the peer's FIN is not acceptable; a retransmitted FIN gets its ACK above. */
        goto drop;
    }
    if (g->plen == 0 && !(g->flags & TH_FIN))
        goto drop;
    {
        uint32_t seq = g->seq;
        uint32_t plen = (uint32_t)g->plen;
        bool fin = g->flags & TH_FIN;
        if (SEQ_LT(seq, p->rcv_nxt)) { /* already have the front */
            uint32_t k = p->rcv_nxt - seq;
            if (k > plen) {
                k = plen;
            }
            payload = iobuf_chain_trim_front(payload, k);
            seq += k;
            plen -= k;
        }
        if (SEQ_GT(seq + plen, p->rcv_nxt + p->rcv_wnd)) { /* past the window */
            uint32_t k = (seq + plen) - (p->rcv_nxt + p->rcv_wnd);
            payload = iobuf_chain_trim_back(payload, k);
            plen -= k;
            fin = false;
        }
        if (seq != p->rcv_nxt) {
            NET_STAT(p->s, tcp_ooo_segments);
            p->last_ooo_seq = seq;
            ooo_insert(p, seq, plen + fin, fin, payload);
            send_ack(p); /* a duplicate ACK tells the sender about the hole */
            return;
        }
        p->rcv_nxt += plen;
        bool had_ooo = p->ooo != NULL;
        if (plen) {
            if (!deliver(p, payload))
                return;
        } else {
            iobuf_free(payload);
        }
        payload = NULL;
        if (fin) {
            fin_arrived(p);
            return;
        }
        if (!ooo_drain(p))
            return;
        if (had_ooo || ++p->segs_unacked >= 2)
            send_ack(p);
        else
            ack_later(p);
    }
    return;
drop:
    iobuf_free(payload);
}

static void segment_syn_sent(struct tcp_pcb *p, struct seg *g)
{
    iobuf_free(g->pkt);
    g->pkt = NULL;
    if ((g->flags & TH_ACK) && (SEQ_LEQ(g->ack, p->iss) || SEQ_GT(g->ack, p->snd_max))) {
        send_rst_for(p->s, g);
        return;
    }
    if (g->flags & TH_RST) {
        if (g->flags & TH_ACK)
            fail(p, ECONNREFUSED);
        return;
    }
    if (!(g->flags & TH_SYN))
        return;
    p->irs = g->seq;
    p->rcv_nxt = g->seq + 1;
    apply_syn_options(p, g);
    if (!(g->flags & TH_ACK)) {
        /* Simultaneous open. */
        p->state = SYN_RCVD;
        send_seg(p, p->iss, TH_SYN, NULL);
        return;
    }
    /* Our SYN is acknowledged. */
    struct tcp_seg *syn = p->q;
    if (syn && !syn->rexmit)
        rtt_sample(p, ebb_now_ns() - syn->sent_ns);
    p->q = p->q_tail = p->nxt_seg = NULL;
    free(syn);
    p->snd_una = p->snd_nxt = g->ack;
    p->snd_wnd = g->wnd << p->snd_wscale;
    p->snd_wl1 = g->seq;
    p->snd_wl2 = g->ack;
    p->retries = 0;
    p->state = ESTABLISHED;
    timer_stop(p);
    send_ack(p);
    p->connecting = false;
    ebb_promise_set(p->promise, (uint64_t)(uintptr_t)&p->conn);
    tcp_deliver_connected(&p->conn);
    if (p->state != CLOSED)
        rearm(p, false);
}

static void segment_listen(struct net_stack *s, struct tcp_lpcb *l, struct seg *g)
{
    struct iobuf *pkt = g->pkt;
    g->pkt = NULL;
    iobuf_free(pkt);
    if (g->flags & TH_RST)
        return;
    if ((g->flags & TH_ACK) || !(g->flags & TH_SYN)) {
        send_rst_for(s, g);
        return;
    }
    if (atomic_load(&l->pending) >= BACKLOG_MAX) {
        NET_STAT(s, tcp_backlog_drops);
        return;
    }
    struct tcp_pcb *p = pcb_new(s, l->core);
    if (!p)
        return;
    p->lip = g->dst;
    p->lport = g->dport;
    p->rip = g->src;
    p->rport = g->sport;
    p->irs = g->seq;
    p->rcv_nxt = g->seq + 1;
    p->snd_wnd = g->wnd; /* SYN windows are never scaled */
    p->snd_wl1 = g->seq;
    apply_syn_options(p, g);
    p->state = SYN_RCVD;
    p->listener = l;
    atomic_fetch_add(&l->pending, 1);
    net_lock(&s->tcp_lock);
    if (lookup(s, p->rip, p->rport, p->lip, p->lport)) { /* raced with a duplicate SYN */
        net_unlock(&s->tcp_lock);
        atomic_fetch_sub(&l->pending, 1);
        free(p);
        return;
    }
    hash_insert(p);
    net_unlock(&s->tcp_lock);
    queue_seg(p, TH_SYN, NULL, 1);
    tcp_output(p);
}

static struct tcp_lpcb *find_listener(struct net_stack *s, uint16_t port)
{
    net_lock(&s->tcp_lock);
    struct tcp_lpcb *l = s->listeners;
    while (l && l->port != port)
        l = l->next;
    net_unlock(&s->tcp_lock);
    return l;
}

struct tcp_fwd {
    struct net_stack *s;
    ip4_t src, dst;
    struct iobuf *pkt;
};

static void segment(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt);

static void fwd_run(void *arg)
{
    struct tcp_fwd *f = arg;
    segment(f->s, f->src, f->dst, f->pkt);
    free(f);
}

static void forward(struct net_stack *s, unsigned core, ip4_t src, ip4_t dst, struct iobuf *pkt)
{
    struct tcp_fwd *f = malloc(sizeof *f);
    if (!f) {
        iobuf_free(pkt);
        return;
    }
    *f = (struct tcp_fwd){s, src, dst, pkt};
    ebb_spawn_on(core, fwd_run, f);
}

/* A checked segment (view at the TCP header): parse, find its connection, run it on the
 * owner's core. */
static void segment(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt)
{
    const uint8_t *h = pkt->data;
    size_t doff = (size_t)(h[12] >> 4) * 4;
    struct seg g = {
        .src = src, .dst = dst, .sport = rd16(h), .dport = rd16(h + 2), .seq = rd32(h + 4),
        .ack = rd32(h + 8), .flags = h[13], .wnd = rd16(h + 14), .mss = -1, .wscale = -1,
        .doff = doff, .plen = pkt->len - doff, .pkt = pkt,
    };
    for (size_t i = TCP_HLEN; i < doff;) {
        uint8_t kind = h[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        uint8_t olen = h[i + 1]; /* checked by tcp_input */
        if (kind == 2 && olen == 4)
            g.mss = rd16(h + i + 2);
        else if (kind == 3 && olen == 3)
            g.wscale = h[i + 2];
        else if (kind == 4 && olen == 2)
            g.sack_perm = true;
        else if (kind == 5)
            g.has_sack = true;
        i += olen;
    }
    struct tcp_pcb *p = lookup(s, src, g.sport, dst, g.dport);
    if (p) {
        unsigned owner = __atomic_load_n(&p->conn.core, __ATOMIC_ACQUIRE);
        if (owner != ebb_core()) {
            forward(s, owner, src, dst, pkt);
            return;
        }
        if (p->state == CLOSED) {
            iobuf_free(pkt);
            return;
        }
        iobuf_advance(pkt, doff);
        p->in_input = true;
        if (p->state == SYN_SENT)
            segment_syn_sent(p, &g);
        else
            segment_synchronized(p, &g);
        p->in_input = false;
        if (p->move_to >= 0 && p->state != CLOSED) {
            unsigned core = (unsigned)p->move_to;
            p->move_to = -1;
            do_move(p, core);
        }
        return;
    }
    struct tcp_lpcb *l = find_listener(s, g.dport);
    if (l && !atomic_load(&l->closed)) {
        if (l->core != ebb_core()) {
            forward(s, l->core, src, dst, pkt);
            return;
        }
        segment_listen(s, l, &g);
        return;
    }
    NET_STAT(s, tcp_no_conn);
    iobuf_advance(pkt, doff);
    send_rst_for(s, &g);
    iobuf_free(pkt);
}

void tcp_input(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt)
{
    const uint8_t *h = pkt->data;
    size_t len = pkt->len;
    if (len < TCP_HLEN || (h[12] >> 4) < 5 || (size_t)(h[12] >> 4) * 4 > len || rd16(h) == 0 ||
        rd16(h + 2) == 0 || (h[13] & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN) ||
        (h[13] & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST) || len > 0xffff) {
        NET_STAT(s, tcp_bad);
        goto drop;
    }
    if (csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)len), h, len)) != 0) {
        NET_STAT(s, tcp_bad_checksum);
        goto drop;
    }
    size_t doff = (size_t)(h[12] >> 4) * 4;
    for (size_t i = TCP_HLEN; i < doff;) {
        uint8_t kind = h[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= doff || h[i + 1] < 2 || i + h[i + 1] > doff ||
            (kind == 2 && h[i + 1] != 4) || (kind == 3 && h[i + 1] != 3) ||
            (kind == 4 && h[i + 1] != 2) || (kind == 5 && (h[i + 1] - 2) % 8 != 0)) {
            NET_STAT(s, tcp_bad_options);
            goto drop;
        }
        i += h[i + 1];
    }
    segment(s, src, dst, pkt);
    return;
drop:
    iobuf_free(pkt);
}

/* The connection API (struct tcp_conn_ops). */

static size_t pcb_window(struct tcp_conn *c)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (p->state != ESTABLISHED && p->state != CLOSE_WAIT)
        return 0;
    uint32_t cw = eff_cwnd(p);
    uint32_t w = cw < p->snd_wnd ? cw : p->snd_wnd;
    uint32_t f = flight(p);
    return w > f ? w - f : 0;
}

static void deliver_window_if_grew(struct tcp_pcb *p, size_t before)
{
    if (pcb_window(&p->conn) > before)
        tcp_deliver_window(&p->conn);
}

static int pcb_send(struct tcp_conn *c, struct iobuf *data)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (p->state != ESTABLISHED && p->state != CLOSE_WAIT) {
        iobuf_free(data);
        return -ENOTCONN;
    }
    while (data) {
        struct iobuf *rest;
        size_t n = iobuf_chain_len(data);
        if (n == 0) {
            iobuf_free(data);
            break;
        }
        struct iobuf *part = n > p->mss ? iobuf_chain_split(data, p->mss, &rest) : data;
        if (n <= p->mss)
            rest = NULL;
        if (!part) {
            iobuf_free(rest);
            return -ENOMEM;
        }
        queue_seg(p, 0, part, (uint32_t)iobuf_chain_len(part));
        data = rest;
    }
    tcp_output(p);
    return 0;
}

static void pcb_close(struct tcp_conn *c)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    switch (p->state) {
    case ESTABLISHED:
        p->state = FIN_WAIT_1;
        break;
    case CLOSE_WAIT:
        p->state = LAST_ACK;
        break;
    default:
        return;
    }
    queue_seg(p, TH_FIN, NULL, 1);
    tcp_output(p);
}

static void pcb_abort(struct tcp_conn *c)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (p->state != CLOSED && p->state != SYN_SENT && p->state != TIME_WAIT) {
        NET_STAT(p->s, tcp_rst_sent);
        xmit(p->s, p->lip, p->lport, p->rip, p->rport, p->snd_max, p->rcv_nxt, TH_RST | TH_ACK,
             0, NULL, 0, NULL);
    }
    pcb_destroy(p);
    maybe_free(p);
}

static void pcb_release(struct tcp_conn *c) { maybe_free((struct tcp_pcb *)c); }

/* On the new owner: timers come back, then the application hears `connected` there. */
static void moved_here(void *arg)
{
    struct tcp_pcb *p = arg;
    if (p->state == CLOSED)
        return;
    enum timer_kind k = p->timer_kind;
    p->timer_kind = T_NONE;
    if (k == T_TIME_WAIT)
        timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
    else
        rearm(p, true);
    tcp_deliver_connected(&p->conn);
}

/* Timers and the pending ACK belong to the old core: settle them there, re-arm on the new one. */
static void do_move(struct tcp_pcb *p, unsigned core)
{
    if (p->ack_pending)
        send_ack(p);
    enum timer_kind k = p->timer_kind;
    ebb_timer_cancel(&p->timer);
    p->timer_kind = k;
    __atomic_store_n(&p->conn.core, core, __ATOMIC_RELEASE);
    ebb_spawn_on(core, moved_here, p);
}

static int pcb_bind_core(struct tcp_conn *c, unsigned core)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (core >= ebb_ncores() || p->conn.core != ebb_core() || p->state == CLOSED)
        return -EINVAL;
    if (core == p->conn.core)
        return 0;
    if (p->in_input)
        p->move_to = (int)core; /* after the segment being handled */
    else
        do_move(p, core);
    return 0;
}

static void pcb_addrs(const struct tcp_conn *c, ip4_t *lip, uint16_t *lport, ip4_t *rip,
                      uint16_t *rport)
{
    const struct tcp_pcb *p = (const struct tcp_pcb *)c;
    if (lip) *lip = p->lip;
    if (lport) *lport = p->lport;
    if (rip) *rip = p->rip;
    if (rport) *rport = p->rport;
}

static const struct tcp_conn_ops pcb_ops = {
    .window = pcb_window,
    .send = pcb_send,
    .close = pcb_close,
    .abort = pcb_abort,
    .bind_core = pcb_bind_core,
    .addrs = pcb_addrs,
    .release = pcb_release,
};

/* Listeners. */

static void free_lpcb(void *arg) { free(arg); }

static void lpcb_close(struct tcp_listener *tl)
{
    struct tcp_lpcb *l = (struct tcp_lpcb *)tl;
    struct net_stack *s = l->s;
    net_lock(&s->tcp_lock);
    for (struct tcp_lpcb **pp = &s->listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    net_unlock(&s->tcp_lock);
    atomic_store(&l->closed, true);
    /* Half-open connections still point at it; they see `closed` and reset. Keep it for as
     * long as one may, then some: a SYN_RCVD lives at most its SYN retries. */
    if (atomic_load(&l->pending) == 0)
        net_rcu_defer(free_lpcb, l);
}

static const struct tcp_listener_ops lpcb_ops = {.close = lpcb_close};

struct tcp_listener *stack_tcp_listen(struct net *n, uint16_t port, tcp_accept_fn fn, void *arg)
{
    struct net_stack *s = stack_of(n);
    if (port == 0) {
        errno = EINVAL;
        return NULL;
    }
    struct tcp_lpcb *l = calloc(1, sizeof *l);
    if (!l) {
        errno = ENOMEM;
        return NULL;
    }
    l->l.ops = &lpcb_ops;
    l->s = s;
    l->port = port;
    l->core = ebb_core();
    l->fn = fn;
    l->arg = arg;
    net_lock(&s->tcp_lock);
    for (struct tcp_lpcb *o = s->listeners; o; o = o->next)
        if (o->port == port) {
            net_unlock(&s->tcp_lock);
            free(l);
            errno = EADDRINUSE;
            return NULL;
        }
    l->next = s->listeners;
    s->listeners = l;
    net_unlock(&s->tcp_lock);
    return &l->l;
}

ebb_future_t stack_tcp_connect(struct net *n, ip4_t ip, uint16_t port, const struct tcp_handlers *h,
                               void *arg)
{
    struct net_stack *s = stack_of(n);
    if (stack_ip(s) == 0)
        return ebb_future_failed(ENETUNREACH);
    if (port == 0 || ip == 0)
        return ebb_future_failed(EINVAL);
    struct tcp_pcb *p = pcb_new(s, ebb_core());
    if (!p)
        return ebb_future_failed(ENOMEM);
    tcp_set_handlers(&p->conn, h, arg);
    p->lip = stack_ip(s);
    p->rip = ip;
    p->rport = port;
    net_lock(&s->tcp_lock);
    for (unsigned tries = 0; tries < 1000 && !p->lport; tries++) {
        uint16_t cand = (uint16_t)(49152 + net_random(s) % 16384);
        if (!lookup(s, ip, port, p->lip, cand))
            p->lport = cand;
    }
    if (!p->lport) {
        net_unlock(&s->tcp_lock);
        free(p);
        return ebb_future_failed(EADDRNOTAVAIL);
    }
    p->state = SYN_SENT;
    hash_insert(p);
    net_unlock(&s->tcp_lock);
    ebb_future_t f = ebb_promise_new(&p->promise);
    p->connecting = true;
    p->snd_wnd = 1; /* until the SYN-ACK tells */
    queue_seg(p, TH_SYN, NULL, 1);
    tcp_output(p);
    return f;
}

void tcp_stack_init(struct net_stack *s) { (void)s; }
