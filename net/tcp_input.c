/* TCP input: parsing and checking segments, forwarding them to the connection's owner core,
 * the state machine (RFC 9293 3.10.7 with RFC 5961's challenge ACKs), ACK processing with
 * NewReno recovery (RFC 6582), and reassembly of out-of-order segments. */
#include <errno.h>
#include <stdlib.h>
#include "net/tcp_var.h"

static void segment(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt);
static void segment_synchronized(struct tcp_pcb *p, struct seg *g);

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

/* Duplicate ACKs that mean loss: three, or fewer when so few segments are out that three
 * could never come back (early retransmit, RFC 5827). */
static unsigned dupthresh(struct tcp_pcb *p)
{
    uint32_t segs = (tcp_flight(p) + p->mss - 1) / p->mss;
    return segs >= 2 && segs < 4 ? segs - 1 : 3;
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

static void deliver_window_if_grew(struct tcp_pcb *p, size_t before)
{
    if (tcp_pcb_window(&p->conn) > before)
        tcp_deliver_window(&p->conn);
}

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
            tcp_timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
        } else {
            p->state = CLOSING;
        }
        break;
    case FIN_WAIT_2:
        p->state = TIME_WAIT;
        tcp_timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
        break;
    default:
        break;
    }
    tcp_send_ack(p);
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

/* What an out-of-order segment costs: its bytes plus the bookkeeping. A small payload is copied
 * out of its (frame-sized) receive buffer first, so that the charge is what is really held. */
#define OOO_OVERHEAD 256u
#define OOO_COPY_BELOW 1024u
static uint32_t ooo_charge(uint32_t len) { return len + OOO_OVERHEAD; }

void tcp_ooo_release(struct tcp_pcb *p, uint32_t charge)
{
    p->ooo_bytes -= charge;
    atomic_fetch_sub(&p->s->ooo_bytes, charge);
}

static void ooo_insert(struct tcp_pcb *p, uint32_t seq, uint32_t len, bool fin, struct iobuf *data)
{
    struct net_stack *s = p->s;
    struct ooo_seg **pp = &p->ooo;
    while (*pp && SEQ_LT((*pp)->seq, seq))
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq && (*pp)->len >= len) { /* already have it */
        iobuf_free(data);
        return;
    }
    uint32_t charge = ooo_charge(len);
    if (p->ooo_bytes + charge > s->lim.ooo_max ||
        atomic_fetch_add(&s->ooo_bytes, charge) + charge > s->lim.ooo_total_max) {
        if (p->ooo_bytes + charge <= s->lim.ooo_max)
            atomic_fetch_sub(&s->ooo_bytes, charge);
        NET_STAT(s, tcp_ooo_drops);
        iobuf_free(data);
        return;
    }
    p->ooo_bytes += charge;
    if (data && len < OOO_COPY_BELOW) {
        struct iobuf *c = iobuf_coalesce_copy(data, 0);
        iobuf_free(data);
        data = c;
    }
    struct ooo_seg *o = malloc(sizeof *o);
    if (!o || (len && !data)) {
        free(o);
        iobuf_free(data);
        tcp_ooo_release(p, charge);
        return;
    }
    *o = (struct ooo_seg){*pp, seq, len, fin, data};
    *pp = o;
}

/* Segments that became in order after rcv_nxt moved. Returns false if the connection went. */
static bool ooo_drain(struct tcp_pcb *p)
{
    while (p->ooo && SEQ_LEQ(p->ooo->seq, p->rcv_nxt)) {
        struct ooo_seg *o = p->ooo;
        p->ooo = o->next;
        tcp_ooo_release(p, ooo_charge(o->len));
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

/* Our SYN and the peer's crossed (simultaneous open): the connect completes. */
static void connect_established(struct tcp_pcb *p)
{
    p->state = ESTABLISHED;
    p->retries = 0;
    p->connecting = false;
    ebb_promise_set(p->promise, (uint64_t)(uintptr_t)&p->conn);
    tcp_deliver_connected(&p->conn);
}

static void accept_established(struct tcp_pcb *p)
{
    struct tcp_lpcb *l = p->listener;
    if (!l) {
        connect_established(p);
        return;
    }
    atomic_fetch_sub(&l->pending, 1);
    p->listener = NULL;
    p->state = ESTABLISHED;
    NET_STAT(p->s, tcp_accepts);
    if (atomic_load(&l->closed)) {
        tcp_send_seg(p, p->snd_nxt, TH_RST, NULL);
        p->conn.released = true;
        tcp_pcb_destroy(p);
        return;
    }
    l->fn(l->arg, &p->conn);
}

/* ACK processing (RFC 9293 3.10.7.4 fifth step, with RFC 6298 and RFC 6582). Returns false if
 * the segment must be dropped. */
static bool process_ack(struct tcp_pcb *p, const struct seg *g)
{
    if (SEQ_GT(g->ack, p->snd_max)) {
        tcp_challenge_ack(p);
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
                uint32_t half = tcp_flight(p) / 2;
                p->ssthresh = half > 2u * p->mss ? half : 2u * p->mss;
                p->recover = p->snd_max;
                p->in_recovery = true;
                NET_STAT(p->s, tcp_fast_retransmits);
                tcp_retransmit_first(p);
                p->cwnd = p->ssthresh + 3u * p->mss;
                tcp_timer_set(p, T_RTO, tcp_rto_now(p));
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
        tcp_rtt_sample(p, now - newest);
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
        tcp_compute_rto(p); /* new data got through: drop the backoff */

    if (p->in_recovery) {
        if (SEQ_GEQ(g->ack, p->recover)) {
            uint32_t f = tcp_flight(p) + p->mss;
            p->cwnd = p->ssthresh < f ? p->ssthresh : f;
            p->in_recovery = false;
        } else {
            /* Partial ACK: the next hole is lost too. */
            tcp_retransmit_first(p);
            p->cwnd = p->cwnd > acked ? p->cwnd - acked : 0;
            p->cwnd += p->mss;
            tcp_timer_set(p, T_RTO, tcp_rto_now(p));
        }
    } else if (p->cwnd < CWND_MAX) {
        /* Byte counting (RFC 3465) without its per-ACK limit, as Linux does: a receiver of TSO
         * frames sends one ACK per frame, which the limit would turn into a crawl. */
        if (p->cwnd < p->ssthresh) {
            p->cwnd += acked;
        } else {
            uint32_t inc = (uint32_t)((uint64_t)p->mss * acked / p->cwnd);
            p->cwnd += inc ? inc : 1;
        }
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
            tcp_timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
            break;
        case LAST_ACK:
            tcp_pcb_destroy(p);
            return false;
        default:
            break;
        }
    }
    tcp_output(p);
    tcp_rearm(p, true);
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
            tcp_send_seg(p, syn->seq, TH_SYN, NULL);
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
            tcp_send_ack(p);
            /* Only the peer's FIN again (our ACK of it was lost) restarts TIME_WAIT: anything
             * else out of the window would let a stranger keep the connection forever. */
            if (p->state == TIME_WAIT && (g->flags & TH_FIN) && g->seq + seg_len == p->rcv_nxt)
                tcp_timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
        }
        goto drop;
    }
    p->last_rx_ns = ebb_now_ns();
    p->ka_probes = 0;

    /* 2. RST: exact match resets, otherwise a challenge ACK (RFC 5961). */
    if (g->flags & TH_RST) {
        if (g->seq != p->rcv_nxt) {
            tcp_challenge_ack(p);
            goto drop;
        }
        iobuf_free(payload);
        tcp_fail(p, ECONNRESET);
        return;
    }

    /* 4. SYN in a synchronized state: challenge ACK. */
    if (g->flags & TH_SYN) {
        tcp_challenge_ack(p);
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
                tcp_do_move(p, core);
                if (payload) {
                    iobuf_prepend(payload, g->doff);
                    forward(p->s, core, g->src, g->dst, payload);
                }
                return;
            }
        } else {
            tcp_send_rst(p->s, g);
            goto drop;
        }
    }
    size_t win_before = tcp_pcb_window(&p->conn);
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
            tcp_send_ack(p); /* a duplicate ACK tells the sender about the hole */
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
        p->segs_unacked += plen > p->mss ? 2 : 1; /* a coalesced segment is several */
        if (had_ooo || p->segs_unacked >= 2)
            tcp_send_ack(p);
        else
            tcp_ack_later(p);
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
        tcp_send_rst(p->s, g);
        return;
    }
    if (g->flags & TH_RST) {
        if (g->flags & TH_ACK)
            tcp_fail(p, ECONNREFUSED);
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
        tcp_send_seg(p, p->iss, TH_SYN, NULL);
        return;
    }
    /* Our SYN is acknowledged. */
    struct tcp_seg *syn = p->q;
    if (syn && !syn->rexmit)
        tcp_rtt_sample(p, ebb_now_ns() - syn->sent_ns);
    p->q = p->q_tail = p->nxt_seg = NULL;
    free(syn);
    p->snd_una = p->snd_nxt = g->ack;
    p->snd_wnd = g->wnd << p->snd_wscale;
    p->snd_wl1 = g->seq;
    p->snd_wl2 = g->ack;
    p->retries = 0;
    p->state = ESTABLISHED;
    tcp_timer_stop(p);
    tcp_send_ack(p);
    p->connecting = false;
    ebb_promise_set(p->promise, (uint64_t)(uintptr_t)&p->conn);
    tcp_deliver_connected(&p->conn);
    if (p->state != CLOSED)
        tcp_rearm(p, false);
}

/* The ACK that answers a SYN cookie: the connection is made from it, ESTABLISHED at once
 * (without the window scale and SACK the cookie cannot remember). */
static void cookie_established(struct net_stack *s, struct tcp_lpcb *l, struct seg *g, uint16_t mss)
{
    struct tcp_pcb *p = tcp_pcb_new(s, l->core);
    if (!p) {
        iobuf_free(g->pkt);
        return;
    }
    p->lip = g->dst;
    p->lport = g->dport;
    p->rip = g->src;
    p->rport = g->sport;
    p->irs = g->seq - 1;
    p->rcv_nxt = g->seq;
    p->iss = g->ack - 1;
    p->snd_una = p->snd_nxt = p->snd_max = p->recover = g->ack;
    p->mss = mss > s->mtu - 40 ? (uint16_t)(s->mtu - 40) : mss;
    p->cwnd = 10u * p->mss;
    p->snd_wscale = p->rcv_wscale = 0;
    p->rcv_wnd = 0xffff;
    p->snd_wnd = g->wnd;
    p->snd_wl1 = g->seq;
    p->snd_wl2 = g->ack;
    p->state = ESTABLISHED;
    spin_lock(&s->tcp_lock);
    if (tcp_lookup(s, p->rip, p->rport, p->lip, p->lport)) {
        spin_unlock(&s->tcp_lock);
        free(p);
        iobuf_free(g->pkt);
        return;
    }
    tcp_hash_insert(p);
    spin_unlock(&s->tcp_lock);
    NET_STAT(s, tcp_syncookies_ok);
    NET_STAT(s, tcp_accepts);
    p->in_input = true;
    l->fn(l->arg, &p->conn);
    if (p->state != CLOSED && (g->plen || (g->flags & TH_FIN))) {
        iobuf_advance(g->pkt, g->doff);
        segment_synchronized(p, g); /* the data this ACK carries */
    } else {
        iobuf_free(g->pkt);
    }
    g->pkt = NULL;
    p->in_input = false;
    if (p->state != CLOSED)
        tcp_rearm(p, false); /* keepalive, or persist for a window of zero */
    if (p->move_to >= 0 && p->state != CLOSED) {
        unsigned core = (unsigned)p->move_to;
        p->move_to = -1;
        tcp_do_move(p, core);
    }
}

static void segment_listen(struct net_stack *s, struct tcp_lpcb *l, struct seg *g)
{
    if ((g->flags & (TH_ACK | TH_SYN | TH_RST)) == TH_ACK) {
        uint16_t mss;
        if (tcp_cookie_check(s, g, &mss) == 0) {
            cookie_established(s, l, g, mss);
            return;
        }
        NET_STAT(s, tcp_syncookies_bad);
    }
    struct iobuf *pkt = g->pkt;
    g->pkt = NULL;
    iobuf_free(pkt);
    if (g->flags & TH_RST)
        return;
    if ((g->flags & TH_ACK) || !(g->flags & TH_SYN)) {
        tcp_send_rst(s, g);
        return;
    }
    if (atomic_load(&l->pending) >= s->lim.backlog) {
        /* Full of half-open connections (a SYN flood, perhaps): answer without keeping state. */
        uint16_t mss;
        uint32_t cookie = tcp_cookie_make(s, g, &mss);
        uint8_t opt[4] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss};
        NET_STAT(s, tcp_syncookies_sent);
        tcp_xmit(s, g->dst, g->dport, g->src, g->sport, cookie, g->seq + 1, TH_SYN | TH_ACK,
                 0xffff, opt, sizeof opt, NULL);
        return;
    }
    struct tcp_pcb *p = tcp_pcb_new(s, l->core);
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
    spin_lock(&s->tcp_lock);
    if (tcp_lookup(s, p->rip, p->rport, p->lip, p->lport)) { /* raced with a duplicate SYN */
        spin_unlock(&s->tcp_lock);
        atomic_fetch_sub(&l->pending, 1);
        free(p);
        return;
    }
    tcp_hash_insert(p);
    spin_unlock(&s->tcp_lock);
    tcp_queue_seg(p, TH_SYN, NULL, 1);
    tcp_output(p);
}

static struct tcp_lpcb *find_listener(struct net_stack *s, uint16_t port)
{
    spin_lock(&s->tcp_lock);
    struct tcp_lpcb *l = s->listeners;
    while (l && l->port != port)
        l = l->next;
    spin_unlock(&s->tcp_lock);
    return l;
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
    struct tcp_pcb *p = tcp_lookup(s, src, g.sport, dst, g.dport);
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
            tcp_do_move(p, core);
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
    tcp_send_rst(s, &g);
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
    if (!rx_csum_trusted(s, pkt) &&
        csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)len), h, len)) != 0) {
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
