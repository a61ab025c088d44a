/* The network interface Ebb (ebbs/netif.ebb.h, generated: netif_send(id, frame), netif_mac(),
 * netif_mtu(), netif_features(), netif_attach(), NETIF_IFACE), its offloads, and the one call an
 * implementation makes into the stack. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/iobuf.h"
#include "ebbs/netif.gen.h"

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

/* For netif implementations: hands a received frame (taken) to the stack. */
void net_stack_input(struct net_stack *s, struct iobuf *frame);
