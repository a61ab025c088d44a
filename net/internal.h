/* The stack's shared internals: the stack object, wire formats, and the calls between layers.
 * Frames are parsed in place (the received frame's view is advanced past each header, so the
 * payload handed to an application is the received buffer itself) and built by prepending
 * headers into headroom. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/ebb.h"
#include "core/spinlock.h"
#include "core/event.h"
#include "core/future.h"
#include "core/iobuf.h"
#include "core/sha256.h"
#include "core/rcu.h"
#include "net/api.h"
#include "net/netif.h"
#include "net/stack.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IP_HLEN 20
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define UDP_HLEN 8
#define TCP_HLEN 20
/* Room in front of a payload for Ethernet + IPv4 + TCP with options. */
#define NET_HEADROOM 128

#define ARP_SLOTS 64
#define ARP_QUEUE_MAX 32
#define TCP_HASH_BITS 12

#define NET_STAT(s, name) __atomic_fetch_add(&(s)->stats.name, 1, __ATOMIC_RELAXED)

struct arp_entry {
    ip4_t ip;              /* 0: free slot */
    uint8_t mac[6];
    bool valid;
    unsigned tries;
    uint64_t expires_ns;   /* valid: when to forget; resolving: when to ask again */
    struct iobuf *queue[ARP_QUEUE_MAX];  /* IP packets waiting for the reply */
    unsigned nqueue;
};

struct tcp_pcb;
struct tcp_lpcb;
struct udp_pcb;
struct dhcp;

struct net_percore {
    struct tcp_pcb *ack_list;   /* connections owing an ACK, flushed after the current batch */
    bool ack_flush_scheduled;
} __attribute__((aligned(64)));

struct net_stack {
    struct net net;  /* first: the application API's handle */
    ebb_id_t netif;
    uint8_t mac[6];
    unsigned mtu;
    unsigned features;          /* the netif's offloads (NETIF_F_*) */
    _Atomic ip4_t ip;
    ip4_t mask, gw;
    unsigned home_core;
    unsigned rto_min_ms, rto_init_ms, rto_max_ms, time_wait_ms;
    bool sack;
    struct net_limits lim;      /* defaults filled in */
    struct net_stats stats;
    uint64_t hash_key[2];       /* the connection table's hash (random: chains cannot be aimed) */
    struct hmac_sha256 cookie_mac; /* SYN cookies: keyed with a random secret at creation */
    _Atomic uint64_t ooo_bytes; /* out-of-order bytes held by every connection */
    uint64_t chack_sec;         /* challenge ACKs: the current second and how many went out */
    _Atomic unsigned chack_count;

    int arp_lock;
    struct arp_entry arp[ARP_SLOTS];
    struct ebb_timer arp_timer;
    unsigned announce_left;     /* ARP announcements still to send (home core only) */
    uint64_t announce_ns;       /* when the next one goes */

    int udp_lock;
    struct udp_pcb *udp;
    uint16_t udp_next_port;

    int tcp_lock;                     /* writers of tcp_hash, listeners */
    _Atomic(struct tcp_pcb *) tcp_hash[1u << TCP_HASH_BITS];
    struct tcp_lpcb *listeners;

    struct dhcp *dhcp;
    ebb_promise_t up_promise;
    ebb_future_t up_future;
    bool up_pending;

    struct net_percore percore[EBB_MAX_CORES];
};

static inline struct net_stack *stack_of(struct net *n) { return (struct net_stack *)n; }
static inline ip4_t stack_ip(struct net_stack *s) { return atomic_load_explicit(&s->ip, memory_order_acquire); }

/* Big-endian helpers for headers in memory. */
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Whether a received packet's transport checksum was checked, or needs none (netif.h). */
static inline bool rx_csum_trusted(const struct net_stack *s, const struct iobuf *pkt)
{
    return (s->features & NETIF_F_RX_CSUM) &&
           (pkt->offload.flags & (IOBUF_CSUM_VALID | IOBUF_CSUM_PARTIAL));
}

/* Internet checksum: accumulate, then fold. */
uint32_t csum_add(uint32_t sum, const void *p, size_t n);
uint32_t csum_add_chain(uint32_t sum, const struct iobuf *chain, size_t skip_first);
uint16_t csum_fold(uint32_t sum);
uint32_t csum_pseudo(ip4_t src, ip4_t dst, uint8_t proto, uint16_t len);

uint64_t net_random(struct net_stack *s);

/* Layers. Input functions take the frame, its view at their header; output functions take a
 * packet whose first buffer has headroom for the lower headers and is not shared. */
void eth_output(struct net_stack *s, const uint8_t dst[6], uint16_t type, struct iobuf *pkt);
void arp_input(struct net_stack *s, struct iobuf *pkt);
void arp_output(struct net_stack *s, ip4_t next_hop, struct iobuf *pkt);
void arp_start(struct net_stack *s);
void arp_announce(struct net_stack *s);
void ip_input(struct net_stack *s, struct iobuf *pkt);
/* src 0: the stack's address. Returns 0 or -errno (the packet is consumed either way). */
int ip_output(struct net_stack *s, ip4_t src, ip4_t dst, uint8_t proto, struct iobuf *pkt);
void icmp_input(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt);
void udp_input(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt);
void tcp_input(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt);
void dhcp_start(struct net_stack *s);
/* Sets the address (from DHCP or config); completes the stack's up future. */
void net_stack_set_addr(struct net_stack *s, ip4_t ip, ip4_t mask, ip4_t gw);

struct udp_sock *stack_udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *arg);
struct tcp_listener *stack_tcp_listen(struct net *n, uint16_t port, tcp_accept_fn fn, void *arg);
ebb_future_t stack_tcp_connect(struct net *n, ip4_t ip, uint16_t port, const struct tcp_handlers *h,
                               void *arg);
/* Sends a UDP datagram from an explicit source (DHCP sends from 0.0.0.0). */
int udp_output(struct net_stack *s, ip4_t src, uint16_t sport, ip4_t dst, uint16_t dport,
               struct iobuf *data);
