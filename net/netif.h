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
};
#define NETIF_IFACE 0x6e65746966303031ull /* "netif001" */

static inline const struct netif_ops *netif_ops(ebb_id_t id, void **rep)
{
    *rep = ebb_rep(id, NETIF_IFACE);
    return EBB_OPS(*rep, struct netif_ops);
}

/* For netif implementations: hands a received frame (taken) to the stack. */
void net_stack_input(struct net_stack *s, struct iobuf *frame);
