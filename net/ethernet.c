/* Ethernet: frames in from the interface, to ARP or IPv4; frames out with our address. */
#include <string.h>
#include "net/internal.h"

static const uint8_t eth_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void net_stack_input(struct net_stack *s, struct iobuf *frame)
{
    NET_STAT(s, rx_frames);
    if (frame->next != frame) {
        /* Parsers read headers in place: give them one contiguous buffer. */
        struct iobuf *one = iobuf_coalesce_copy(frame, 0);
        iobuf_free(frame);
        if (!one)
            return;
        frame = one;
    }
    if (frame->len < ETH_HLEN) {
        NET_STAT(s, eth_short);
        iobuf_free(frame);
        return;
    }
    const uint8_t *h = frame->data;
    if (memcmp(h, s->mac, 6) != 0 && memcmp(h, eth_bcast, 6) != 0) {
        NET_STAT(s, eth_not_for_us);
        iobuf_free(frame);
        return;
    }
    uint16_t type = rd16(h + 12);
    iobuf_advance(frame, ETH_HLEN);
    if (type == ETH_P_IP) {
        ip_input(s, frame);
    } else if (type == ETH_P_ARP) {
        arp_input(s, frame);
    } else {
        NET_STAT(s, eth_other_type);
        iobuf_free(frame);
    }
}

void eth_output(struct net_stack *s, const uint8_t dst[6], uint16_t type, struct iobuf *pkt)
{
    uint8_t *h = iobuf_prepend(pkt, ETH_HLEN);
    memcpy(h, dst, 6);
    memcpy(h + 6, s->mac, 6);
    wr16(h + 12, type);
    NET_STAT(s, tx_frames);
    if (netif_send(s->netif, pkt) < 0)
        NET_STAT(s, tx_errors);
}
