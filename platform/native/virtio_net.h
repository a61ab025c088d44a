/* The native virtio-net driver (virtio_net.c): the network interface Ebb of native images. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "core/ebb.h"

/* Finds the first virtio-net device, sets it up (one queue pair per core when it has MQ) and
 * binds it to a new id. 0, or -errno after printing why (-ENODEV: no device). */
int virtio_net_open(ebb_id_t *id);

struct vnet_stats {           /* one queue pair */
    uint64_t rx_packets, rx_bad, rx_nomem, rx_irqs, rx_polled, poll_entries, poll_exits;
    uint64_t poll_steals;      /* polling ended because the host preempted the vCPU */
    uint64_t tx_packets, tx_full_drops, tx_kicks;
    uint64_t lost_irqs, lost_kicks; /* notifications lost and recovered by the periodic check */
    uint64_t tx_tso;           /* TSO frames sent */
    uint64_t rx_csum, rx_gso;  /* frames received with a checksum verdict / as a GSO frame */
};

struct virtio_net_info {
    bool modern, msix;
    uint64_t features;         /* negotiated */
    unsigned pairs;
    uint8_t mac[6];
    struct vnet_stats queue[16];
};
/* What the open device negotiated and counted (all zero when none is open). */
void virtio_net_info(struct virtio_net_info *out);
