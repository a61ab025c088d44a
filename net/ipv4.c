/* IPv4 (RFC 791) and ICMP echo (RFC 792). A host, not a router: fragments are dropped (counted),
 * options are skipped, everything sent has DF set and TTL 64 and goes to the local subnet or the
 * gateway. */
#include <errno.h>
#include <string.h>
#include "net/internal.h"

#define IP_TTL 64
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

static _Atomic uint16_t ip_id;

static bool is_broadcast(struct net_stack *s, ip4_t dst)
{
    return dst == 0xffffffffu || (s->mask && s->mask != 0xffffffffu &&
                                  dst == (stack_ip(s) | ~s->mask));
}

void ip_input(struct net_stack *s, struct iobuf *pkt)
{
    const uint8_t *h = pkt->data;
    if (pkt->len < IP_HLEN || h[0] >> 4 != 4 || (h[0] & 15) < 5) {
        NET_STAT(s, ip_bad_header);
        goto drop;
    }
    size_t hlen = (size_t)(h[0] & 15) * 4;
    size_t total = rd16(h + 2);
    if (hlen > pkt->len || total < hlen || total > pkt->len) {
        NET_STAT(s, ip_bad_length);
        goto drop;
    }
    if (csum_fold(csum_add(0, h, hlen)) != 0) {
        NET_STAT(s, ip_bad_checksum);
        goto drop;
    }
    uint16_t frag = rd16(h + 6);
    if (frag & 0x3fff) { /* MF set or a non-zero offset */
        NET_STAT(s, ip_fragments);
        goto drop;
    }
    ip4_t src = rd32(h + 12), dst = rd32(h + 16), me = stack_ip(s);
    uint8_t proto = h[9];
    bool ours = dst == me || is_broadcast(s, dst);
    /* Unconfigured, a DHCP reply may come to the address being offered. */
    if (!ours && !(me == 0 && proto == IP_PROTO_UDP)) {
        NET_STAT(s, ip_not_for_us);
        goto drop;
    }
    if ((src >> 28) == 0xe || src == 0xffffffffu) { /* replies must never go to these */
        NET_STAT(s, ip_bad_header);
        goto drop;
    }
    iobuf_retreat(pkt, pkt->len - total); /* Ethernet padding */
    iobuf_advance(pkt, hlen);
    switch (proto) {
    case IP_PROTO_TCP:
        if (dst != me) {
            NET_STAT(s, ip_not_for_us);
            goto drop;
        }
        tcp_input(s, src, dst, pkt);
        return;
    case IP_PROTO_UDP:
        udp_input(s, src, dst, pkt);
        return;
    case IP_PROTO_ICMP:
        icmp_input(s, src, dst, pkt);
        return;
    default:
        NET_STAT(s, ip_other_proto);
        goto drop;
    }
drop:
    iobuf_free(pkt);
}

int ip_output(struct net_stack *s, ip4_t src, ip4_t dst, uint8_t proto, struct iobuf *pkt)
{
    size_t len = iobuf_chain_len(pkt) + IP_HLEN;
    ip4_t me = stack_ip(s);
    size_t max = pkt->offload.gso_type != IOBUF_GSO_NONE ? 0xffff : s->mtu;
    if (len > max || len > 0xffff || iobuf_headroom(pkt) < IP_HLEN + ETH_HLEN) {
        iobuf_free(pkt);
        return -EMSGSIZE;
    }
    ip4_t next_hop;
    if (is_broadcast(s, dst) || (me && (dst & s->mask) == (me & s->mask)))
        next_hop = dst;
    else if (s->gw)
        next_hop = s->gw;
    else {
        NET_STAT(s, ip_no_route);
        iobuf_free(pkt);
        return -EHOSTUNREACH;
    }
    uint8_t *h = iobuf_prepend(pkt, IP_HLEN);
    h[0] = 0x45;
    h[1] = 0;
    wr16(h + 2, (uint16_t)len);
    wr16(h + 4, atomic_fetch_add_explicit(&ip_id, 1, memory_order_relaxed));
    wr16(h + 6, 0x4000); /* DF */
    h[8] = IP_TTL;
    h[9] = proto;
    wr16(h + 10, 0);
    wr32(h + 12, src ? src : me);
    wr32(h + 16, dst);
    wr16(h + 10, csum_fold(csum_add(0, h, IP_HLEN)));
    arp_output(s, next_hop, pkt);
    return 0;
}

void icmp_input(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt)
{
    if (pkt->len < 8 || csum_fold(csum_add(0, pkt->data, pkt->len)) != 0) {
        NET_STAT(s, icmp_bad);
        iobuf_free(pkt);
        return;
    }
    if (pkt->data[0] != ICMP_ECHO_REQUEST || dst != stack_ip(s)) {
        iobuf_free(pkt);
        return;
    }
    /* Reply in place when the buffer is ours alone; otherwise copy. */
    if (iobuf_is_shared(pkt) || iobuf_headroom(pkt) < IP_HLEN + ETH_HLEN) {
        struct iobuf *c = iobuf_coalesce_copy(pkt, NET_HEADROOM);
        iobuf_free(pkt);
        if (!c)
            return;
        pkt = c;
    }
    pkt->offload = (struct iobuf_offload){0}; /* what the request came with means nothing now */
    uint8_t *p = pkt->data;
    p[0] = ICMP_ECHO_REPLY;
    wr16(p + 2, 0);
    wr16(p + 2, csum_fold(csum_add(0, p, pkt->len)));
    NET_STAT(s, icmp_echo_replies);
    ip_output(s, dst, src, IP_PROTO_ICMP, pkt);
}
