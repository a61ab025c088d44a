/* This project's TCP/IP stack over a network interface Ebb (netif.h): create one, give it an
 * address (static, or DHCP when cfg->ip is 0), and use its struct net with the API in net.h.
 * Several stacks may live in one image (the in-memory wire joins two). */
#pragma once
#include "core/ebb.h"
#include "net/net.h"

struct net_stack;

struct net_stack_config {
    ip4_t ip;             /* 0: DHCP */
    unsigned prefix;      /* netmask length */
    ip4_t gw;             /* 0: none (only the local subnet is reachable) */
    unsigned home_core;   /* core for ARP/DHCP timers and listeners' default */
    unsigned rto_min_ms;  /* 0: 200 */
    unsigned rto_init_ms; /* before any RTT sample, e.g. for the SYN (RFC 6298); 0: 1000 */
    unsigned rto_max_ms;  /* the backoff's ceiling; 0: 60000 */
#define NET_RTO_INIT_MS_DEFAULT 1000
#define NET_RTO_MAX_MS_DEFAULT 60000
    unsigned time_wait_ms;/* 0: 2000 */
    bool sack;            /* offer/accept SACK-permitted: our ACKs then carry SACK blocks */
    struct net_limits {   /* what a hostile peer can hold; 0: the default in brackets */
        unsigned backlog;          /* half-open connections per listener; past it SYN cookies [256] */
        unsigned ooo_max;          /* out-of-order bytes kept per connection [256 KiB] */
        unsigned ooo_total_max;    /* out-of-order bytes kept by the whole stack [16 MiB] */
        unsigned persist_max_ms;   /* a zero window that long drops the connection [120 s] */
        unsigned keepalive_ms;     /* idle this long: keepalive probes start [7200 s] */
        unsigned keepalive_intvl_ms; /* between probes [75 s] */
        unsigned keepalive_probes; /* unanswered probes that drop the connection [9] */
        unsigned fin_wait2_ms;     /* FIN_WAIT_2 with nothing from the peer that long: dropped [60 s] */
        unsigned challenge_acks_per_s; /* RFC 5961 challenge ACKs the stack sends a second [1000] */
    } limits;
};
/* The defaults of struct net_limits. */
#define NET_BACKLOG_DEFAULT 256
#define NET_OOO_MAX_DEFAULT (256u << 10)
#define NET_OOO_TOTAL_MAX_DEFAULT (16u << 20)
#define NET_PERSIST_MAX_MS_DEFAULT 120000
#define NET_KEEPALIVE_MS_DEFAULT 7200000
#define NET_KEEPALIVE_INTVL_MS_DEFAULT 75000
#define NET_KEEPALIVE_PROBES_DEFAULT 9
#define NET_FIN_WAIT2_MS_DEFAULT 60000
#define NET_CHALLENGE_ACKS_PER_S_DEFAULT 1000

/* Drops and events, counted (read with net_stack_stat). */
#define NET_STATS(X)                                                                          \
    X(rx_frames) X(tx_frames) X(tx_errors) X(eth_short) X(eth_other_type) X(eth_not_for_us)    \
    X(arp_bad) X(arp_ignored) X(arp_other_target) X(arp_requests) X(arp_replies) X(arp_announces)   \
    X(arp_timeouts) X(arp_queue_drops)                                                          \
    X(ip_bad_header) X(ip_bad_checksum) X(ip_bad_length) X(ip_fragments) X(ip_not_for_us)       \
    X(ip_other_proto) X(ip_no_route) X(icmp_bad) X(icmp_echo_replies) X(udp_bad)                \
    X(udp_bad_checksum) X(udp_no_port) X(tcp_bad) X(tcp_bad_checksum) X(tcp_bad_options)       \
    X(tcp_no_conn) X(tcp_rst_sent) X(tcp_retransmits) X(tcp_fast_retransmits) X(tcp_timeouts)  \
    X(tcp_ooo_segments) X(tcp_out_of_window) X(tcp_persist_probes) X(tcp_accepts) X(dhcp_bad)  \
    X(tcp_syncookies_sent) X(tcp_syncookies_ok) X(tcp_syncookies_bad) X(tcp_ooo_drops)        \
    X(tcp_persist_giveups) X(tcp_keepalive_probes) X(tcp_keepalive_drops)                     \
    X(tcp_fin_wait2_drops) X(tcp_challenge_acks) X(tcp_challenge_acks_suppressed)              \
    X(tcp_listener_resets) X(tcp_sendq_refused)

struct net_stats {
#define NET_STAT_FIELD(n) uint64_t n;
    NET_STATS(NET_STAT_FIELD)
#undef NET_STAT_FIELD
};

/* The configuration's ip=A.B.C.D/N gw=G (no ip=: DHCP), rto_min_ms=, sack= into cfg, whose
 * home core is the caller's. 0, or -EINVAL after printing what is wrong. */
int net_config_read(struct net_stack_config *cfg);

struct net_stack *net_stack_new(ebb_id_t netif, const struct net_stack_config *cfg);
/* Future of the stack's struct net * once it has an address (at once when static). */
ebb_future_t net_stack_up(struct net_stack *s);
struct net *net_stack_net(struct net_stack *s);
/* The stack behind a struct net, or NULL (Linux sockets). */
struct net_stack *net_stack_of(struct net *n);
/* A snapshot of the counters. */
void net_stack_stats(struct net_stack *s, struct net_stats *out);
/* Formats the non-zero counters as "name=value ..."; returns the length. */
size_t net_stack_format_stats(struct net_stack *s, char *buf, size_t len);
/* Prints the non-zero counters to the console, one line. */
void net_stack_print_stats(struct net_stack *s, const char *label);
