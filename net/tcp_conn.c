/* TCP connections: the connection table (read without locks, entries freed after an RCU grace
 * period), creating and destroying connections, moving one to another core, the application's
 * operations (struct tcp_conn_ops), listeners and active opens. */
#include <errno.h>
#include <stdlib.h>
#include "core/siphash.h"
#include "net/tcp_var.h"

static const struct tcp_conn_ops pcb_ops;

/* Keyed: without the stack's random key a peer cannot pick addresses that share a chain. */
static unsigned hash4(struct net_stack *s, ip4_t rip, uint16_t rport, uint16_t lport)
{
    uint64_t k = (uint64_t)rip << 32 | (uint32_t)rport << 16 | lport;
    return (unsigned)ebb_siphash(s->hash_key, &k, sizeof k) & ((1u << TCP_HASH_BITS) - 1);
}

struct tcp_pcb *tcp_lookup(struct net_stack *s, ip4_t rip, uint16_t rport, ip4_t lip,
                              uint16_t lport)
{
    struct tcp_pcb *p = atomic_load_explicit(&s->tcp_hash[hash4(s, rip, rport, lport)],
                                             memory_order_acquire);
    for (; p; p = atomic_load_explicit(&p->hnext, memory_order_acquire))
        if (p->rip == rip && p->rport == rport && p->lport == lport && p->lip == lip)
            return p;
    return NULL;
}

/* Called with tcp_lock held. */
void tcp_hash_insert(struct tcp_pcb *p)
{
    _Atomic(struct tcp_pcb *) *b = &p->s->tcp_hash[hash4(p->s, p->rip, p->rport, p->lport)];
    atomic_store_explicit(&p->hnext, atomic_load_explicit(b, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(b, p, memory_order_release);
    p->hashed = true;
}

void tcp_hash_remove(struct tcp_pcb *p)
{
    struct net_stack *s = p->s;
    spin_lock(&s->tcp_lock);
    _Atomic(struct tcp_pcb *) *pp = &s->tcp_hash[hash4(s, p->rip, p->rport, p->lport)];
    for (struct tcp_pcb *q; (q = atomic_load_explicit(pp, memory_order_relaxed)); pp = &q->hnext)
        if (q == p) {
            /* Readers may still be on p: its hnext stays valid until the grace period ends. */
            atomic_store_explicit(pp, atomic_load_explicit(&p->hnext, memory_order_relaxed),
                                  memory_order_release);
            break;
        }
    p->hashed = false;
    spin_unlock(&s->tcp_lock);
}

struct tcp_pcb *tcp_pcb_new(struct net_stack *s, unsigned core)
{
    struct tcp_pcb *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    tcp_conn_init(&p->conn, &pcb_ops, core);
    p->s = s;
    p->iss = (uint32_t)net_random(s);
    p->snd_una = p->snd_nxt = p->snd_max = p->iss;
    p->rto_ms = s->rto_init_ms;
    p->rcv_wnd = RCV_WND;
    p->rcv_wscale = RCV_WSCALE;
    p->mss = 536;
    p->cwnd = 10u * 536;
    p->ssthresh = 0xffffffffu;
    p->recover = p->iss;
    p->move_to = -1;
    p->last_rx_ns = ebb_now_ns();
    return p;
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
    tcp_ooo_release(p, p->ooo_bytes);
}

static void free_pcb(void *arg)
{
    struct tcp_pcb *p = arg;
    iobuf_free(p->conn.sendq);
    free(p);
}

/* Memory goes when both the protocol (CLOSED) and the application (released) are done. */
void tcp_maybe_free(struct tcp_pcb *p)
{
    if (p->state == CLOSED && p->conn.released && !p->freed) {
        p->freed = true;
        ebb_rcu_defer(free_pcb, p);
    }
}

void tcp_pcb_destroy(struct tcp_pcb *p)
{
    if (p->state == CLOSED)
        return;
    if (p->state == SYN_RCVD && p->listener)
        atomic_fetch_sub(&p->listener->pending, 1);
    p->state = CLOSED;
    tcp_timer_stop(p);
    if (p->ack_pending)
        tcp_unlink_ack(p);
    if (p->hashed)
        tcp_hash_remove(p);
    free_queues(p);
    tcp_maybe_free(p);
}

/* The connection ends badly: tell whoever holds it. */
void tcp_fail(struct tcp_pcb *p, int err)
{
    if (ebb_log_on(EBB_LOG_DEBUG)) {
        char l[16], r[16];
        ebb_debug("tcp: %s:%u - %s:%u ends: error %d", ip4_format(p->lip, l), p->lport,
                  ip4_format(p->rip, r), p->rport, err);
    }
    bool connecting = p->connecting;
    bool app_has = !p->conn.released && (p->state != SYN_RCVD) && !connecting;
    tcp_pcb_destroy(p);
    if (connecting) {
        p->connecting = false;
        p->conn.released = true; /* the application never saw it */
        ebb_promise_fail(p->promise, err);
        tcp_maybe_free(p);
    } else if (app_has) {
        tcp_deliver_aborted(&p->conn, err);
    } else {
        p->conn.released = true;
        tcp_maybe_free(p);
    }
}

/* The connection API (struct tcp_conn_ops). */

size_t tcp_pcb_window(struct tcp_conn *c)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (p->state != ESTABLISHED && p->state != CLOSE_WAIT)
        return 0;
    uint32_t cw = tcp_eff_cwnd(p);
    uint32_t w = cw < p->snd_wnd ? cw : p->snd_wnd;
    uint32_t f = tcp_flight(p);
    return w > f ? w - f : 0;
}

static int pcb_send(struct tcp_conn *c, struct iobuf *data)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (p->state != ESTABLISHED && p->state != CLOSE_WAIT) {
        iobuf_free(data);
        return -ENOTCONN;
    }
    uint32_t max = tcp_seg_max(p);
    while (data) {
        struct iobuf *rest;
        size_t n = iobuf_chain_len(data);
        if (n == 0) {
            iobuf_free(data);
            break;
        }
        struct iobuf *part = n > max ? iobuf_chain_split(data, max, &rest) : data;
        if (n <= max)
            rest = NULL;
        if (!part) {
            iobuf_free(rest);
            return -ENOMEM;
        }
        tcp_queue_seg(p, 0, part, (uint32_t)iobuf_chain_len(part));
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
    tcp_queue_seg(p, TH_FIN, NULL, 1);
    tcp_output(p);
}

static void pcb_abort(struct tcp_conn *c)
{
    struct tcp_pcb *p = (struct tcp_pcb *)c;
    if (p->state != CLOSED && p->state != SYN_SENT && p->state != TIME_WAIT) {
        NET_STAT(p->s, tcp_rst_sent);
        tcp_xmit(p->s, p->lip, p->lport, p->rip, p->rport, p->snd_max, p->rcv_nxt, TH_RST | TH_ACK,
             0, NULL, 0, NULL);
    }
    tcp_pcb_destroy(p);
    tcp_maybe_free(p);
}

static void pcb_release(struct tcp_conn *c) { tcp_maybe_free((struct tcp_pcb *)c); }

/* On the new owner: timers come back, then the application hears `connected` there. */
static void moved_here(void *arg)
{
    struct tcp_pcb *p = arg;
    if (p->state == CLOSED)
        return;
    enum timer_kind k = p->timer_kind;
    p->timer_kind = T_NONE;
    if (k == T_TIME_WAIT)
        tcp_timer_set(p, T_TIME_WAIT, p->s->time_wait_ms);
    else
        tcp_rearm(p, true);
    tcp_deliver_connected(&p->conn);
}

/* Timers and the pending ACK belong to the old core: settle them there, re-arm on the new one. */
void tcp_do_move(struct tcp_pcb *p, unsigned core)
{
    if (p->ack_pending)
        tcp_send_ack(p);
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
        tcp_do_move(p, core);
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
    .window = tcp_pcb_window,
    .send = pcb_send,
    .close = pcb_close,
    .abort = pcb_abort,
    .bind_core = pcb_bind_core,
    .addrs = pcb_addrs,
    .release = pcb_release,
};

/* Listeners. */

static void free_lpcb(void *arg) { free(arg); }

/* On the listener's core, where its half-open connections live (they cannot move before they are
 * accepted) and where segment_listen() runs: no new one can appear once this runs, because the
 * listener left the list before it was spawned and every segment looks the listener up again
 * on this core (docs/network.md, "Closing a listener"). */
static void lpcb_close_here(void *arg)
{
    struct tcp_lpcb *l = arg;
    struct net_stack *s = l->s;
    unsigned n = atomic_load(&l->pending), k = 0;
    struct tcp_pcb **half = n ? malloc(n * sizeof *half) : NULL;
    spin_lock(&s->tcp_lock);
    for (unsigned b = 0; b < (1u << TCP_HASH_BITS) && k < n && half; b++)
        for (struct tcp_pcb *p = atomic_load_explicit(&s->tcp_hash[b], memory_order_relaxed); p;
             p = atomic_load_explicit(&p->hnext, memory_order_relaxed))
            if (p->listener == l && p->state == SYN_RCVD && k < n)
                half[k++] = p;
    spin_unlock(&s->tcp_lock);
    for (unsigned i = 0; i < k; i++) {
        struct tcp_pcb *p = half[i];
        NET_STAT(s, tcp_listener_resets);
        tcp_xmit(s, p->lip, p->lport, p->rip, p->rport, p->snd_max, p->rcv_nxt, TH_RST | TH_ACK,
                 0, NULL, 0, NULL);
        tcp_fail(p, ECONNRESET); /* the application never saw it: freed */
    }
    free(half);
    if (atomic_load(&l->pending) != 0) /* only if memory ran out above */
        ebb_panic("tcp: a closed listener still has half-open connections");
    ebb_rcu_defer(free_lpcb, l);
}

static void lpcb_close(struct tcp_listener *tl)
{
    struct tcp_lpcb *l = (struct tcp_lpcb *)tl;
    struct net_stack *s = l->s;
    spin_lock(&s->tcp_lock);
    for (struct tcp_lpcb **pp = &s->listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    spin_unlock(&s->tcp_lock);
    atomic_store(&l->closed, true); /* no accept from now on, even before the clean-up runs */
    if (l->core == ebb_core())
        lpcb_close_here(l);
    else
        ebb_spawn_on(l->core, lpcb_close_here, l);
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
    spin_lock(&s->tcp_lock);
    for (struct tcp_lpcb *o = s->listeners; o; o = o->next)
        if (o->port == port) {
            spin_unlock(&s->tcp_lock);
            free(l);
            errno = EADDRINUSE;
            return NULL;
        }
    l->next = s->listeners;
    s->listeners = l;
    spin_unlock(&s->tcp_lock);
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
    struct tcp_pcb *p = tcp_pcb_new(s, ebb_core());
    if (!p)
        return ebb_future_failed(ENOMEM);
    tcp_set_handlers(&p->conn, h, arg);
    p->lip = stack_ip(s);
    p->rip = ip;
    p->rport = port;
    spin_lock(&s->tcp_lock);
    for (unsigned tries = 0; tries < 1000 && !p->lport; tries++) {
        uint16_t cand = (uint16_t)(49152 + net_random(s) % 16384);
        if (!tcp_lookup(s, ip, port, p->lip, cand))
            p->lport = cand;
    }
    if (!p->lport) {
        spin_unlock(&s->tcp_lock);
        free(p);
        return ebb_future_failed(EADDRNOTAVAIL);
    }
    p->state = SYN_SENT;
    tcp_hash_insert(p);
    spin_unlock(&s->tcp_lock);
    ebb_future_t f = ebb_promise_new(&p->promise);
    p->connecting = true;
    p->snd_wnd = 1; /* until the SYN-ACK tells */
    tcp_queue_seg(p, TH_SYN, NULL, 1);
    tcp_output(p);
    return f;
}
