/* The network interface Ebb. An image binds the implementation it wants to an id: the in-memory
 * wire (net/wire.c), a Linux tap device (hosted), virtio-net (native). One shared rep: send() may
 * be called from any core; received frames go to net_stack_input() (net/netif.h). The offloads
 * that features() names, and what travels with each frame, are described in net/netif.h. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"
#include "core/iobuf.h"

struct net_stack;

struct EBB_INTERFACE(shared) netif {
    /* Received frames go to s from now on. */
    void (*attach)(void *self, struct net_stack *s);
    /* Transmits one Ethernet frame (a chain; taken). 0, or -errno (the frame is dropped). */
    int (*send)(void *self, struct iobuf *frame);
    /* Its MAC address, into out[0..6). */
    void (*mac)(void *self, uint8_t *out);
    /* The IP MTU: bytes after the Ethernet header. */
    unsigned (*mtu)(void *self);
    /* The offloads it offers (NETIF_F_*), read once when a stack attaches. */
    unsigned (*features)(void *self);
};
