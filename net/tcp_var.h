/* TCP's internals, shared by tcp_input.c, tcp_output.c, tcp_timer.c and tcp_conn.c.
 *
 * TCP (RFC 9293): the full state machine, MSS and window scale (RFC 7323), retransmission with
 * RFC 6298's RTO and exponential backoff (Karn's rule for samples), fast retransmit and NewReno
 * recovery (RFC 6582), the persist timer for a zero window, out-of-order segments kept and
 * reassembled, challenge ACKs for in-window RSTs and SYNs (RFC 5961).
 *
 * There is no socket buffer: received data goes straight to the application's handler; what the
 * application sends (within the window it was offered) is cut into segments kept until ACKed.
 * A connection is owned by one core: its state is touched only there. Segments arrive on the
 * interface's core, find the connection in a hash table read without locks (entries are freed
 * after an RCU grace period) and are forwarded to the owner if it is another core. */
#pragma once
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
#define CWND_MAX (1u << 30) /* beyond any window: only keeps the sums from wrapping */
#define SYN_RETRIES 6
#define DATA_RETRIES 12
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

/* T_KEEPALIVE and T_FIN_WAIT_2 run while nothing else does (an idle connection). */
enum timer_kind { T_NONE, T_RTO, T_PERSIST, T_TIME_WAIT, T_KEEPALIVE, T_FIN_WAIT_2 };

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
    uint64_t persist_since_ns;   /* the zero window began (persist give-up) */
    uint64_t last_rx_ns;         /* the last acceptable segment (keepalive, FIN_WAIT_2) */
    unsigned ka_probes;          /* keepalive probes unanswered */

    uint32_t irs, rcv_nxt, rcv_wnd;
    struct ooo_seg *ooo;
    uint32_t ooo_bytes;      /* charged against limits.ooo_max and the stack's total */
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

/* The window field of an outgoing header (SYN windows are never scaled). */
static inline uint16_t tcp_wnd_field(struct tcp_pcb *p, bool syn)
{
    uint32_t w = syn ? p->rcv_wnd : p->rcv_wnd >> p->rcv_wscale;
    return (uint16_t)(w > 0xffff ? 0xffff : w);
}

static inline uint32_t tcp_rto_now(struct tcp_pcb *p) { return p->rto_ms; }
static inline uint32_t tcp_flight(struct tcp_pcb *p) { return p->snd_max - p->snd_una; }

/* The congestion window, plus limited transmit (RFC 3042): each of the first two duplicate
 * ACKs lets one new segment out, so a small window still earns its third duplicate ACK. */
static inline uint32_t tcp_eff_cwnd(struct tcp_pcb *p)
{
    if (!p->in_recovery && p->dupacks > 0 && p->dupacks < 3)
        return p->cwnd + p->dupacks * p->mss;
    return p->cwnd;
}

/* The connection table and connections' lives (tcp_conn.c). */
struct tcp_pcb *tcp_lookup(struct net_stack *s, ip4_t rip, uint16_t rport, ip4_t lip,
                           uint16_t lport);
/* Called with tcp_lock held. */
void tcp_hash_insert(struct tcp_pcb *p);
void tcp_hash_remove(struct tcp_pcb *p);
struct tcp_pcb *tcp_pcb_new(struct net_stack *s, unsigned core);
/* Memory goes when both the protocol (CLOSED) and the application (released) are done. */
void tcp_maybe_free(struct tcp_pcb *p);
/* To CLOSED: timers, queues and the table entry go. */
void tcp_pcb_destroy(struct tcp_pcb *p);
/* The connection ends badly: tell whoever holds it. */
void tcp_fail(struct tcp_pcb *p, int err);
/* The room the application may send into now. */
size_t tcp_pcb_window(struct tcp_conn *c);
/* Hands the connection to another core (settles timers and a pending ACK here first). */
void tcp_do_move(struct tcp_pcb *p, unsigned core);

/* Output (tcp_output.c). */
/* Sends one segment; data (if any) is cloned, not taken. */
void tcp_xmit(struct net_stack *s, ip4_t lip, uint16_t lport, ip4_t rip, uint16_t rport,
              uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts,
              size_t optlen, struct iobuf *data);
void tcp_send_seg(struct tcp_pcb *p, uint32_t seq, uint8_t flags, struct iobuf *data);
void tcp_send_ack(struct tcp_pcb *p);
void tcp_ack_later(struct tcp_pcb *p);
void tcp_unlink_ack(struct tcp_pcb *p);
void tcp_send_rst(struct net_stack *s, const struct seg *g);
/* An ACK answering an unacceptable RST, SYN or ACK (RFC 5961), within the stack's rate. */
void tcp_challenge_ack(struct tcp_pcb *p);
/* Out-of-order bytes given back (segments delivered or dropped). */
void tcp_ooo_release(struct tcp_pcb *p, uint32_t charge);
/* Sends queued segments from snd_nxt as the congestion and the peer's windows allow. */
void tcp_output(struct tcp_pcb *p);
/* Appends to the send queue len bytes of sequence space (data, or a SYN or FIN alone). */
void tcp_queue_seg(struct tcp_pcb *p, uint8_t flags, struct iobuf *data, uint32_t len);
/* The most payload a queued segment holds: one MSS, or with TSO what one TSO frame carries
 * (tcp_output and retransmissions cut it to what the window or the loss calls for). */
uint32_t tcp_seg_max(struct tcp_pcb *p);
/* Cuts queued data segment g after k bytes (0 < k < g->len). 0, or -ENOMEM. */
int tcp_split_seg(struct tcp_pcb *p, struct tcp_seg *g, uint32_t k);

/* SYN cookies (tcp_cookie.c): the ISN of a SYN-ACK sent without keeping state, and the check of
 * the ACK that answers it (0 and the MSS, or -1). */
uint32_t tcp_cookie_make(struct net_stack *s, const struct seg *g, uint16_t *mss);
int tcp_cookie_check(struct net_stack *s, const struct seg *g, uint16_t *mss);

/* Timers (tcp_timer.c). */
void tcp_timer_set(struct tcp_pcb *p, enum timer_kind k, uint64_t ms);
void tcp_timer_stop(struct tcp_pcb *p);
/* After the send state changed: the retransmission or persist timer as the state needs. */
void tcp_rearm(struct tcp_pcb *p, bool restart);
void tcp_compute_rto(struct tcp_pcb *p);
void tcp_rtt_sample(struct tcp_pcb *p, uint64_t rtt_ns);
void tcp_retransmit_first(struct tcp_pcb *p);
