/* TCP timers: retransmission (RFC 6298 RTO with exponential backoff), persist for a zero
 * window, TIME_WAIT. One timer per connection; timer_kind says which one runs. */
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
            tcp_timer_set(p, T_PERSIST, tcp_rto_now(p));
        }
    } else if (p->snd_wnd == 0 && (p->state == ESTABLISHED || p->state == CLOSE_WAIT)) {
        /* Nothing queued, but the application waits for the window: probe it open. */
        if (p->timer_kind != T_PERSIST) {
            p->persist_shift = 0;
            tcp_timer_set(p, T_PERSIST, tcp_rto_now(p));
        }
    } else if (p->timer_kind != T_NONE) {
        tcp_timer_stop(p);
    }
}

void tcp_compute_rto(struct tcp_pcb *p)
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
    case T_PERSIST: {
        /* A zero-length segment just below the window: the peer answers with an ACK that
         * carries its current window. */
        NET_STAT(p->s, tcp_persist_probes);
        tcp_xmit(p->s, p->lip, p->lport, p->rip, p->rport, p->snd_una - 1, p->rcv_nxt, TH_ACK,
             tcp_wnd_field(p, false), NULL, 0, NULL);
        if (p->persist_shift < 6)
            p->persist_shift++;
        uint64_t ms = (uint64_t)tcp_rto_now(p) << p->persist_shift;
        tcp_timer_set(p, T_PERSIST, ms > RTO_MAX_MS ? RTO_MAX_MS : ms);
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
    p->rto_ms = p->rto_ms * 2 > RTO_MAX_MS ? RTO_MAX_MS : p->rto_ms * 2;
    if (p->state != SYN_SENT && p->state != SYN_RCVD)
        enter_loss(p);
    /* Go back: everything from snd_una is sent again as the window allows. */
    p->snd_nxt = p->snd_una;
    p->nxt_seg = p->q;
    tcp_output(p);
    tcp_timer_set(p, T_RTO, tcp_rto_now(p));
}
