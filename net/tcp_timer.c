/* TCP timers: retransmission (RFC 6298 RTO with exponential backoff), persist for a zero
 * window (given up after limits.persist_max_ms), TIME_WAIT, and for an idle connection
 * keepalive (RFC 1122 4.2.3.6) or the FIN_WAIT_2 timeout. One timer per connection; timer_kind
 * says which one runs. */
#include <errno.h>
#include "net/tcp_var.h"

static void tcp_timer(void *arg);

void tcp_timer_set(struct tcp_pcb *p, enum timer_kind k, uint64_t ms)
{
    ebb_timer_cancel(&p->timer);
    p->timer_kind = k;
    ebb_timer_start(&p->timer, ms * MS, tcp_timer, p);
}

void tcp_timer_stop(struct tcp_pcb *p)
{
    ebb_timer_cancel(&p->timer);
    p->timer_kind = T_NONE;
}

/* After the send state changed: retransmission timer while something is in flight; persist
 * timer while the peer's window is zero. */
void tcp_rearm(struct tcp_pcb *p, bool restart)
{
    if (p->state == TIME_WAIT || p->state == CLOSED)
        return;
    if (p->snd_una != p->snd_nxt) {
        if (restart || p->timer_kind != T_RTO)
            tcp_timer_set(p, T_RTO, tcp_rto_now(p));
    } else if (p->nxt_seg) {
        /* Queued, nothing in flight, and the window too small for it: probe. */
        if (p->timer_kind != T_PERSIST) {
            p->persist_shift = 0;
            p->persist_since_ns = ebb_now_ns();
            tcp_timer_set(p, T_PERSIST, tcp_rto_now(p));
        }
    } else if (p->snd_wnd == 0 && (p->state == ESTABLISHED || p->state == CLOSE_WAIT)) {
        /* Nothing queued, but the application waits for the window: probe it open. */
        if (p->timer_kind != T_PERSIST) {
            p->persist_shift = 0;
            p->persist_since_ns = ebb_now_ns();
            tcp_timer_set(p, T_PERSIST, tcp_rto_now(p));
        }
    } else {
        /* Idle: keepalive while established, the FIN_WAIT_2 timeout after our FIN. Both look
         * at last_rx_ns when they fire, so segments arriving need not touch the timer. */
        enum timer_kind k = p->state == FIN_WAIT_2 ? T_FIN_WAIT_2
                          : p->state == ESTABLISHED || p->state == CLOSE_WAIT ? T_KEEPALIVE
                          : T_NONE;
        if (k == T_NONE) {
            if (p->timer_kind != T_NONE)
                tcp_timer_stop(p);
        } else if (p->timer_kind != k) {
            tcp_timer_set(p, k, k == T_FIN_WAIT_2 ? p->s->lim.fin_wait2_ms : p->s->lim.keepalive_ms);
        }
    }
}

/* The idle timers: keepalive probes (a segment just below the window, which the peer must
 * answer), or the FIN_WAIT_2 give-up. */
static void idle_timer(struct tcp_pcb *p, enum timer_kind k)
{
    const struct net_limits *l = &p->s->lim;
    uint64_t idle_ms = (ebb_now_ns() - p->last_rx_ns) / MS;
    uint64_t wait = k == T_FIN_WAIT_2 ? l->fin_wait2_ms : p->ka_probes ? l->keepalive_intvl_ms
                                                                      : l->keepalive_ms;
    if (idle_ms < wait) {
        tcp_timer_set(p, k, wait - idle_ms);
        return;
    }
    if (k == T_FIN_WAIT_2) {
        NET_STAT(p->s, tcp_fin_wait2_drops);
        tcp_fail(p, ETIMEDOUT);
        return;
    }
    if (p->ka_probes >= l->keepalive_probes) {
        NET_STAT(p->s, tcp_keepalive_drops);
        tcp_fail(p, ETIMEDOUT);
        return;
    }
    p->ka_probes++;
    NET_STAT(p->s, tcp_keepalive_probes);
    tcp_xmit(p->s, p->lip, p->lport, p->rip, p->rport, p->snd_una - 1, p->rcv_nxt, TH_ACK,
             tcp_wnd_field(p, false), NULL, 0, NULL);
    tcp_timer_set(p, k, l->keepalive_intvl_ms);
}

void tcp_compute_rto(struct tcp_pcb *p)
{
    int64_t var = 4 * p->rttvar_us;
    if (var < 1000)
        var = 1000; /* clock granularity G: 1 ms */
    uint64_t rto = (uint64_t)(p->srtt_us + var + 999) / 1000;
    if (rto < p->s->rto_min_ms)
        rto = p->s->rto_min_ms;
    if (rto > p->s->rto_max_ms)
        rto = p->s->rto_max_ms;
    p->rto_ms = (uint32_t)rto;
}

void tcp_rtt_sample(struct tcp_pcb *p, uint64_t rtt_ns)
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
    tcp_compute_rto(p);
}

static void enter_loss(struct tcp_pcb *p)
{
    uint32_t half = tcp_flight(p) / 2;
    p->ssthresh = half > 2u * p->mss ? half : 2u * p->mss;
    p->cwnd = p->mss;
    p->in_recovery = false;
    p->dupacks = 0;
    p->recover = p->snd_max;
}

void tcp_retransmit_first(struct tcp_pcb *p)
{
    struct tcp_seg *g = p->q;
    if (!g)
        return;
    /* What was lost is one segment on the wire: resend that, not a whole TSO frame. */
    if (g->data && g->len > p->mss)
        tcp_split_seg(p, g, p->mss);
    NET_STAT(p->s, tcp_retransmits);
    g->rexmit = true;
    g->sent_ns = ebb_now_ns();
    tcp_send_seg(p, g->seq, g->flags | (g->data ? TH_PSH : 0), g->data);
}

static void tcp_timer(void *arg)
{
    struct tcp_pcb *p = arg;
    enum timer_kind k = p->timer_kind;
    p->timer_kind = T_NONE;
    switch (k) {
    case T_NONE:
        return;
    case T_TIME_WAIT:
        tcp_pcb_destroy(p);
        return;
    case T_KEEPALIVE:
    case T_FIN_WAIT_2:
        idle_timer(p, k);
        return;
    case T_PERSIST: {
        if ((ebb_now_ns() - p->persist_since_ns) / MS >= p->s->lim.persist_max_ms) {
            /* The peer kept its window shut for too long (or forever, on purpose). */
            NET_STAT(p->s, tcp_persist_giveups);
            tcp_fail(p, ETIMEDOUT);
            return;
        }
        /* A zero-length segment just below the window: the peer answers with an ACK that
         * carries its current window. */
        NET_STAT(p->s, tcp_persist_probes);
        tcp_xmit(p->s, p->lip, p->lport, p->rip, p->rport, p->snd_una - 1, p->rcv_nxt, TH_ACK,
             tcp_wnd_field(p, false), NULL, 0, NULL);
        if (p->persist_shift < 6)
            p->persist_shift++;
        uint64_t ms = (uint64_t)tcp_rto_now(p) << p->persist_shift;
        tcp_timer_set(p, T_PERSIST, ms > p->s->rto_max_ms ? p->s->rto_max_ms : ms);
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
        tcp_fail(p, ETIMEDOUT);
        return;
    }
    p->rto_ms = p->rto_ms * 2 > p->s->rto_max_ms ? p->s->rto_max_ms : p->rto_ms * 2;
    if (p->state != SYN_SENT && p->state != SYN_RCVD)
        enter_loss(p);
    /* Go back: everything from snd_una is sent again as the window allows. */
    p->snd_nxt = p->snd_una;
    p->nxt_seg = p->q;
    tcp_output(p);
    tcp_timer_set(p, T_RTO, tcp_rto_now(p));
}
