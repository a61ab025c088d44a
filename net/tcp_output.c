/* TCP output: building and sending segments, SACK blocks in our ACKs, delayed ACKs, the send
 * queue cut by the congestion and the peer's windows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net/tcp_var.h"

/* The largest payload of one TSO frame: an IPv4 packet of 64 KiB with full TCP options. */
#define TSO_MAX_PAYLOAD (0xffffu - IP_HLEN - TCP_HLEN - 40)

/* Sends one segment, or with gso_size a TSO frame the netif cuts into segments of gso_size
 * bytes; data (if any) is taken. */
static void xmit(struct net_stack *s, ip4_t lip, uint16_t lport, ip4_t rip, uint16_t rport,
                 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts,
                 size_t optlen, struct iobuf *data, uint16_t gso_size)
{
    struct iobuf *pkt = iobuf_alloc(NET_HEADROOM + TCP_HLEN + 40, NET_HEADROOM);
    if (!pkt) {
        iobuf_free(data);
        return;
    }
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
    pkt = iobuf_chain_append(pkt, data);
    size_t len = iobuf_chain_len(pkt);
    uint32_t pseudo = csum_pseudo(lip, rip, IP_PROTO_TCP, (uint16_t)len);
    if (s->features & NETIF_F_TX_CSUM) {
        /* The netif sums the rest (netif.h): the field holds the pseudo-header's sum. */
        wr16(h + 16, (uint16_t)~csum_fold(pseudo));
        pkt->offload = (struct iobuf_offload){
            .flags = IOBUF_CSUM_PARTIAL, .csum_start = ETH_HLEN + IP_HLEN, .csum_offset = 16,
        };
        if (gso_size && len - hlen > gso_size) {
            pkt->offload.gso_type = IOBUF_GSO_TCPV4;
            pkt->offload.gso_size = gso_size;
            pkt->offload.hdr_len = (uint16_t)(ETH_HLEN + IP_HLEN + hlen);
        }
    } else {
        wr16(h + 16, csum_fold(csum_add_chain(pseudo, pkt, 0)));
    }
    ip_output(s, lip, rip, IP_PROTO_TCP, pkt);
}

void tcp_xmit(struct net_stack *s, ip4_t lip, uint16_t lport, ip4_t rip, uint16_t rport,
              uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts,
              size_t optlen, struct iobuf *data)
{
    struct iobuf *c = NULL;
    if (data && !(c = iobuf_clone(data)))
        return;
    xmit(s, lip, lport, rip, rport, seq, ack, flags, wnd, opts, optlen, c, 0);
}

void tcp_unlink_ack(struct tcp_pcb *p)
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
size_t tcp_sack_option(struct tcp_pcb *p, uint8_t *o)
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

/* Sends a segment (data taken), or a TSO frame when data holds more than one segment. */
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
        optlen = tcp_sack_option(p, opts);
        if (data && iobuf_chain_len(data) <= p->mss && iobuf_chain_len(data) + optlen > p->s->mtu - 40)
            optlen = 0;
    }
    /* Each segment of a TSO frame carries the options: its payload makes room for them. */
    uint16_t gso = data && iobuf_chain_len(data) > p->mss ? (uint16_t)(p->mss - optlen) : 0;
    if (p->state != SYN_SENT)
        flags |= TH_ACK;
    if (flags & TH_ACK) {
        if (p->ack_pending)
            tcp_unlink_ack(p);
        p->segs_unacked = 0;
    }
    xmit(p->s, p->lip, p->lport, p->rip, p->rport, seq, p->rcv_nxt, flags,
         tcp_wnd_field(p, flags & TH_SYN), opts, optlen, data, gso);
}

void tcp_send_seg(struct tcp_pcb *p, uint32_t seq, uint8_t flags, struct iobuf *data)
{
    struct iobuf *c = NULL;
    if (data && !(c = iobuf_clone(data)))
        return;
    send_seg(p, seq, flags, c);
}

/* A pure ACK carries snd_max, not snd_nxt: after a timeout snd_nxt goes back to snd_una, and the
 * peer (which may hold data beyond it) would find that sequence number below its window and drop
 * the ACK, each side then waiting for the other. */
void tcp_send_ack(struct tcp_pcb *p) { tcp_send_seg(p, p->snd_max, TH_ACK, NULL); }

/* RFC 5961 section 7: at most limits.challenge_acks_per_s for the whole stack, so that forged
 * segments cannot turn the stack into an ACK generator. Approximate across cores. */
void tcp_challenge_ack(struct tcp_pcb *p)
{
    struct net_stack *s = p->s;
    uint64_t sec = ebb_now_ns() / 1000000000u;
    if (__atomic_load_n(&s->chack_sec, __ATOMIC_RELAXED) != sec) {
        __atomic_store_n(&s->chack_sec, sec, __ATOMIC_RELAXED);
        atomic_store_explicit(&s->chack_count, 0, memory_order_relaxed);
    }
    if (atomic_fetch_add_explicit(&s->chack_count, 1, memory_order_relaxed) >=
        s->lim.challenge_acks_per_s) {
        NET_STAT(s, tcp_challenge_acks_suppressed);
        return;
    }
    NET_STAT(s, tcp_challenge_acks);
    tcp_send_ack(p);
}

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
            tcp_send_ack(p);
    }
}

/* Acknowledges after the events queued now (a batch of received frames) have run, so one ACK
 * covers them and a reply the application sends meanwhile carries it. */
void tcp_ack_later(struct tcp_pcb *p)
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

void tcp_send_rst(struct net_stack *s, const struct seg *g)
{
    if (g->flags & TH_RST)
        return;
    NET_STAT(s, tcp_rst_sent);
    if (g->flags & TH_ACK)
        tcp_xmit(s, g->dst, g->dport, g->src, g->sport, g->ack, 0, TH_RST, 0, NULL, 0, NULL);
    else {
        uint32_t len = (uint32_t)g->plen + !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
        tcp_xmit(s, g->dst, g->dport, g->src, g->sport, 0, g->seq + len, TH_RST | TH_ACK, 0, NULL, 0,
             NULL);
    }
}

/* Marks a queued segment as (re)sent now. */
static void mark_sent(struct tcp_pcb *p, struct tcp_seg *g, uint64_t now)
{
    if (g->sent) {
        g->rexmit = true;
        NET_STAT(p->s, tcp_retransmits);
    }
    g->sent = true;
    g->sent_ns = now;
}

/* Sends queued segments from snd_nxt as the congestion and the peer's windows allow. With TSO,
 * consecutive data segments go out as one frame (the queue keeps them one MSS each, so ACKs,
 * retransmissions and SACK work on segments whatever was sent together). */
void tcp_output(struct tcp_pcb *p)
{
    bool tso = p->s->features & NETIF_F_TSO4;
    while (p->nxt_seg) {
        struct tcp_seg *g = p->nxt_seg;
        uint32_t cw = tcp_eff_cwnd(p);
        uint32_t wnd = cw < p->snd_wnd ? cw : p->snd_wnd;
        uint32_t in_flight = p->snd_nxt - p->snd_una;
        bool control = g->data == NULL; /* SYN or FIN alone: not held back by the window */
        uint32_t room = wnd > in_flight ? wnd - in_flight : 0;
        if (!control && g->len > p->mss && g->len > room && (room >= p->mss || in_flight == 0)) {
            /* A TSO-sized segment larger than the window: send what fits, in whole MSS. */
            uint32_t k = room / p->mss * p->mss;
            if (tcp_split_seg(p, g, k ? k : p->mss) < 0)
                break;
        }
        if (!control && in_flight + g->len > wnd && !(in_flight == 0 && p->snd_wnd >= g->len))
            break;
        uint64_t now = ebb_now_ns();
        mark_sent(p, g, now);
        struct iobuf *data = NULL;
        if (g->data && !(data = iobuf_clone(g->data)))
            break;
        uint32_t end = g->seq + g->len;
        struct tcp_seg *n = g->next;
        while (tso && !control && n && n->data && end - g->seq + n->len <= TSO_MAX_PAYLOAD &&
               in_flight + (end - g->seq) + n->len <= wnd) {
            struct iobuf *c = iobuf_clone(n->data);
            if (!c)
                break;
            data = iobuf_chain_append(data, c);
            mark_sent(p, n, now);
            end = n->seq + n->len;
            n = n->next;
        }
        send_seg(p, g->seq, g->flags | (g->data ? TH_PSH : 0), data);
        p->snd_nxt = end;
        p->nxt_seg = n;
    }
    tcp_rearm(p, false);
}

uint32_t tcp_seg_max(struct tcp_pcb *p)
{
    if (!(p->s->features & NETIF_F_TSO4))
        return p->mss;
    return TSO_MAX_PAYLOAD / p->mss * p->mss;
}

int tcp_split_seg(struct tcp_pcb *p, struct tcp_seg *g, uint32_t k)
{
    struct tcp_seg *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    struct iobuf *rest;
    struct iobuf *front = iobuf_chain_split(g->data, k, &rest);
    if (!front) {
        g->data = rest;
        free(n);
        return -ENOMEM;
    }
    *n = *g;
    n->seq = g->seq + k;
    n->len = g->len - k;
    n->data = rest;
    g->data = front;
    g->len = k;
    g->next = n;
    if (p->q_tail == g)
        p->q_tail = n;
    return 0;
}

void tcp_queue_seg(struct tcp_pcb *p, uint8_t flags, struct iobuf *data, uint32_t len)
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
