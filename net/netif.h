/* The network interface Ebb. An image binds the implementation it wants to its id: the in-memory
 * wire (net/wire.c), a Linux tap device (hosted), virtio-net (native). Shared rep: send() may be
 * called from any core; received frames go to net_stack_input() on the interface's own core. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/iobuf.h"

struct net_stack;

struct netif_ops {
    /* Received frames go to s from now on. */
    void (*attach)(void *rep, struct net_stack *s);
    /* Transmits one Ethernet frame (a chain; taken). 0, or -errno (the frame is dropped). */
    int (*send)(void *rep, struct iobuf *frame);
    void (*mac)(void *rep, uint8_t out[6]);
    unsigned (*mtu)(void *rep); /* IP MTU: bytes after the Ethernet header */
    /* The offloads it offers (NETIF_F_*), read once when a stack attaches; NULL: none. */
    unsigned (*features)(void *rep);
};

/* Offloads. Per packet, what is to be done or was done travels in the head's struct
 * iobuf_offload (core/iobuf.h, the virtio-net header's fields); a netif without a feature never
 * sees the matching request, and one that offers nothing sees plain frames.
 * - NETIF_F_TX_CSUM: a sent TCP frame may carry IOBUF_CSUM_PARTIAL: its checksum field holds the
 *   pseudo-header's sum (length included, not inverted); the netif adds the bytes from
 *   csum_start to the end and stores the result at csum_start + csum_offset.
 * - NETIF_F_TSO4 (with TX_CSUM): a sent TCP/IPv4 frame of up to NETIF_GSO_MAX bytes may carry
 *   IOBUF_GSO_TCPV4: the netif cuts its payload into segments of gso_size bytes after hdr_len
 *   bytes of headers, as TSO does (IP length and id, TCP sequence, PSH/FIN on the last one,
 *   checksums). Such a frame is a chain of many buffers (a netif that needs fewer copies it).
 * - NETIF_F_RX_CSUM: a received frame may carry IOBUF_CSUM_VALID (its TCP/UDP checksum was
 *   checked) or IOBUF_CSUM_PARTIAL (it comes from a sender on this host whose checksum is not
 *   done yet; its bytes are intact): the stack then skips the check. Received frames may also be
 *   GSO frames (up to NETIF_GSO_MAX bytes) when the netif coalesces (GRO, or the host's TSO):
 *   the stack takes them as one large segment. */
#define NETIF_F_TX_CSUM (1u << 0)
#define NETIF_F_TSO4 (1u << 1)
#define NETIF_F_RX_CSUM (1u << 2)
#define NETIF_GSO_MAX (14u + 65535u) /* Ethernet header + the largest IPv4 packet */
#define NETIF_IFACE 0x6e65746966303031ull /* "netif001" */

static inline const struct netif_ops *netif_ops(ebb_id_t id, void **rep)
{
    *rep = ebb_rep(id, NETIF_IFACE);
    return EBB_OPS(*rep, struct netif_ops);
}

/* For netif implementations: hands a received frame (taken) to the stack. */
void net_stack_input(struct net_stack *s, struct iobuf *frame);
