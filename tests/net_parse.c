/* Parsers against malformed, truncated and hostile frames: each is dropped and counted under the
 * right reason, nothing crashes, and well-formed requests (ARP, ICMP echo, UDP, TCP SYN) get
 * correct answers. Then thousands of random mutations of valid frames. Runs with cores=1. */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "core/event.h"
#include "tests/net_capture.h"
#include "tests/tap.h"

static struct net_stack *s;
static const ip4_t ME = IP4(10, 9, 0, 2), PEER = IP4(10, 9, 0, 1);

/* The sum of the counters of frames dropped on input, each under one reason. */
static uint64_t input_drops(void)
{
    static const char *const reasons[] = {
        "eth_short", "eth_other_type", "eth_not_for_us", "arp_bad", "ip_bad_header",
        "ip_bad_checksum", "ip_bad_length", "ip_fragments", "ip_not_for_us", "ip_other_proto",
        "icmp_bad", "udp_bad", "udp_bad_checksum", "udp_no_port", "tcp_bad", "tcp_bad_checksum",
        "tcp_bad_options", "tcp_no_conn", "tcp_out_of_window", "tcp_ooo_drops",
        "tcp_syncookies_bad",
    };
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        n += cap_stat(s, reasons[i]);
    return n;
}

/* Injects and checks that exactly counter `name` went up by one. */
static void expect_drop(const uint8_t *f, size_t len, const char *name, const char *what)
{
    uint64_t before = cap_stat(s, name);
    cap_clear();
    cap_inject(s, f, len, 0);
    is(cap_stat(s, name) - before, 1, "%s: dropped, counted as %s", what, name);
}

static size_t tcp_seg(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                      uint8_t flags, const uint8_t *opts, size_t optlen)
{
    uint8_t t[60] = {0};
    size_t hl = TCP_HLEN + optlen;
    wr16(t, sport);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = flags;
    wr16(t + 14, 65535);
    if (optlen)
        memcpy(t + TCP_HLEN, opts, optlen);
    wr16(t + 16, csum_fold(csum_add(csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)hl), t, hl)));
    return cap_ipv4(f, IP_PROTO_TCP, PEER, ME, t, hl);
}

static int udp_got;
static char udp_data[64];
static void on_udp(void *arg, struct udp_sock *u, ip4_t src, uint16_t sport, struct iobuf *d)
{
    (void)arg; (void)u; (void)src; (void)sport;
    udp_got++;
    memset(udp_data, 0, sizeof udp_data);
    iobuf_copy_out(d, 0, udp_data, sizeof udp_data - 1);
    iobuf_free(d);
}

static int accepted;
static void on_accept(void *arg, struct tcp_conn *c) { (void)arg; (void)c; accepted++; }

static uint64_t arp_req_before;

static void check_arp(void *arg)
{
    (void)arg;
    is(cap_stat(s, "arp_requests") - arp_req_before, 3, "the ARP request was tried 3 times");
    is(cap_stat(s, "arp_timeouts"), 1, "then the entry timed out");
    is(cap_stat(s, "arp_queue_drops"), 1, "and the waiting datagram was dropped, counted");
    cap_clear();
    ebb_exit(tap_done());
}

void app_main(void)
{
    tap_plan(60);
    tap_deadline(150); /* a hung loop must not hang the suite */
    ebb_id_t id = ebb_id_alloc();
    cap.ops = &cap_ops;
    ok(ebb_bind(id, &cap_root) == 0, "capture interface bound");
    struct net_stack_config cfg = {.ip = ME, .prefix = 24, .gw = PEER, .sack = true};
    s = net_stack_new(id, &cfg);
    uint8_t f[1600], p[256];
    size_t n;

    /* Ethernet. */
    expect_drop(f, 10, "eth_short", "a 10-byte frame");
    n = cap_eth(f, 0x86dd);
    memset(f + n, 0, 40);
    expect_drop(f, n + 40, "eth_other_type", "an IPv6 frame");
    n = cap_eth(f, ETH_P_IP);
    f[0] = 0x04;
    expect_drop(f, n + 40, "eth_not_for_us", "a frame for another MAC");

    /* ARP. */
    n = cap_eth(f, ETH_P_ARP);
    expect_drop(f, n + 20, "arp_bad", "a truncated ARP packet");
    uint8_t *a = f + n;
    wr16(a, 1); wr16(a + 2, ETH_P_IP); a[4] = 7; a[5] = 4; wr16(a + 6, 1);
    expect_drop(f, n + 28, "arp_bad", "ARP with hardware length 7");
    a[4] = 6;
    memcpy(a + 8, peer_mac, 6); wr32(a + 14, PEER); memset(a + 18, 0, 6); wr32(a + 24, ME);
    memcpy(f, (uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 6);
    cap_clear();
    cap_inject(s, f, n + 28, 0);
    ok(cap.nsent == 1 && rd16(cap.sent[0]->data + 12) == ETH_P_ARP &&
           rd16(cap.sent[0]->data + 20) == 2 && memcmp(cap.sent[0]->data + 22, our_mac, 6) == 0 &&
           rd32(cap.sent[0]->data + 28) == ME && memcmp(cap.sent[0]->data, peer_mac, 6) == 0,
       "ARP request for our address: a reply with our MAC, to the asker");
    cap_clear();
    cap_arp(f, 1, peer_mac, 0, (uint8_t[6]){0}, ME);
    cap_inject(s, f, n + 28, 0);
    ok(cap.nsent == 1 && rd16(cap.sent[0]->data + 20) == 2 && memcmp(cap.sent[0]->data + 22, our_mac, 6) == 0 &&
           rd32(cap.sent[0]->data + 38) == 0 && memcmp(cap.sent[0]->data, peer_mac, 6) == 0,
       "ARP probe for our address (sender 0.0.0.0, RFC 5227): answered, the address is taken");
    uint64_t other = cap_stat(s, "arp_other_target");
    cap_clear();
    cap_arp(f, 1, peer_mac, PEER, (uint8_t[6]){0}, IP4(10, 9, 0, 77));
    cap_inject(s, f, n + 28, 0);
    ok(cap.nsent == 0 && cap_stat(s, "arp_other_target") - other == 1,
       "ARP request for another address: no answer, counted as arp_other_target");

    /* ARP poisoning: nothing but the reply to our own request is learnt. */
    static const uint8_t evil[6] = {0x02, 0xee, 0xee, 0xee, 0xee, 0xee};
    uint64_t ign = cap_stat(s, "arp_ignored");
    cap_arp(f, 2, evil, PEER, our_mac, ME);
    cap_inject(s, f, n + 28, 0);
    cap_arp(f, 1, evil, PEER, (uint8_t[6]){0}, PEER);
    cap_inject(s, f, n + 28, 0);
    is(cap_stat(s, "arp_ignored") - ign, 2, "an unsolicited reply and a gratuitous ARP are ignored, counted");
    uint8_t echo[8] = {8, 0, 0, 0, 0, 1, 0, 1};
    wr16(echo + 2, csum_fold(csum_add(0, echo, 8)));
    uint8_t ef[64];
    size_t en = cap_ipv4(ef, IP_PROTO_ICMP, PEER, ME, echo, 8);
    cap_clear();
    cap_inject(s, ef, en, 0);
    ok(cap.nsent == 1 && rd16(cap.sent[0]->data + 12) == ETH_P_ARP &&
           rd16(cap.sent[0]->data + 20) == 1 && rd32(cap.sent[0]->data + 38) == PEER,
       "the peer is still unknown after them: the echo reply waits for our ARP request");
    cap_clear();
    cap_arp(f, 2, evil, PEER, (uint8_t[6]){0x02, 0, 0, 0, 0, 9}, ME);
    cap_inject(s, f, n + 28, 0);
    is(cap.nsent, 0, "a reply to another MAC does not answer our request");
    cap_arp(f, 2, peer_mac, PEER, our_mac, ME);
    cap_inject(s, f, n + 28, 0);
    ok(cap.nsent == 1 && rd16(cap.sent[0]->data + 12) == ETH_P_IP &&
           memcmp(cap.sent[0]->data, peer_mac, 6) == 0,
       "the reply to our request is learnt: the waiting echo reply goes to its MAC");
    cap_arp(f, 2, evil, PEER, our_mac, ME);
    cap_inject(s, f, n + 28, 0);
    cap_clear();
    cap_inject(s, ef, en, 0);
    ok(cap.nsent == 1 && memcmp(cap.sent[0]->data, peer_mac, 6) == 0,
       "a later reply does not overwrite the resolved entry");

    /* IPv4 header checks. */
    memset(p, 0xab, sizeof p);
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    f[ETH_HLEN] = 0x65;
    expect_drop(f, n, "ip_bad_header", "IP version 6 in an IPv4 frame");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    f[ETH_HLEN] = 0x44;
    expect_drop(f, n, "ip_bad_header", "IHL 4");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    f[ETH_HLEN] = 0x4f;
    expect_drop(f, ETH_HLEN + 40, "ip_bad_length", "IHL 15 (60 bytes) in a 40-byte packet");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    wr16(f + ETH_HLEN + 2, 1000);
    expect_drop(f, n, "ip_bad_length", "total length past the frame");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    wr16(f + ETH_HLEN + 2, 12);
    expect_drop(f, n, "ip_bad_length", "total length shorter than the header");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    f[ETH_HLEN + 10] ^= 1;
    expect_drop(f, n, "ip_bad_checksum", "bad header checksum");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, p, 20);
    wr16(f + ETH_HLEN + 6, 0x2000);
    wr16(f + ETH_HLEN + 10, 0);
    wr16(f + ETH_HLEN + 10, csum_fold(csum_add(0, f + ETH_HLEN, IP_HLEN)));
    expect_drop(f, n, "ip_fragments", "a first fragment (MF)");
    wr16(f + ETH_HLEN + 6, 0x0010);
    wr16(f + ETH_HLEN + 10, 0);
    wr16(f + ETH_HLEN + 10, csum_fold(csum_add(0, f + ETH_HLEN, IP_HLEN)));
    expect_drop(f, n, "ip_fragments", "a later fragment (offset)");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, IP4(10, 9, 0, 77), p, 20);
    expect_drop(f, n, "ip_not_for_us", "a packet for another address");
    n = cap_ipv4(f, 89, PEER, ME, p, 20);
    expect_drop(f, n, "ip_other_proto", "OSPF");
    n = cap_ipv4(f, IP_PROTO_UDP, IP4(224, 0, 0, 1), ME, p, 20);
    expect_drop(f, n, "ip_bad_header", "a multicast source address");

    /* ICMP. */
    uint8_t icmp[40] = {8, 0, 0, 0, 0x12, 0x34, 0, 7};
    memcpy(icmp + 8, "ping payload ping payload ping payload", 32);
    wr16(icmp + 2, csum_fold(csum_add(0, icmp, 40)));
    n = cap_ipv4(f, IP_PROTO_ICMP, PEER, ME, icmp, 40);
    f[n - 1] ^= 0x55;
    expect_drop(f, n, "icmp_bad", "ICMP with a bad checksum");
    n = cap_ipv4(f, IP_PROTO_ICMP, PEER, ME, icmp, 4);
    expect_drop(f, n, "icmp_bad", "a 4-byte ICMP message");
    n = cap_ipv4(f, IP_PROTO_ICMP, PEER, ME, icmp, 40);
    cap_clear();
    cap_inject(s, f, n, 0);
    const uint8_t *r = cap.nsent ? cap.sent[0]->data : NULL;
    ok(r && cap.sent[0]->len == n && r[ETH_HLEN + 9] == IP_PROTO_ICMP &&
           rd32(r + ETH_HLEN + 16) == PEER && r[ETH_HLEN + 20] == 0 &&
           memcmp(r + ETH_HLEN + 24, icmp + 4, 36) == 0 &&
           csum_fold(csum_add(0, r + ETH_HLEN + 20, 40)) == 0 &&
           csum_fold(csum_add(0, r + ETH_HLEN, 20)) == 0,
       "echo request: a reply with the same id, sequence and payload, valid checksums");
    ok(r && r[ETH_HLEN + 8] == 64 && (rd16(r + ETH_HLEN + 6) & 0x4000), "replies go out with TTL 64 and DF");

    /* UDP. */
    struct udp_sock *u = udp_bind(net_stack_net(s), 5353, on_udp, NULL);
    uint8_t ud[32] = {0};
    wr16(ud, 1111); wr16(ud + 2, 5353); wr16(ud + 4, 20);
    memcpy(ud + 8, "hello, udp!!", 12);
    wr16(ud + 6, csum_fold(csum_add(csum_pseudo(PEER, ME, IP_PROTO_UDP, 20), ud, 20)));
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, ud, 20);
    udp_got = 0;
    cap_inject(s, f, n, 0);
    ok(udp_got == 1 && strcmp(udp_data, "hello, udp!!") == 0, "valid datagram reaches the handler");
    f[n - 1] ^= 1;
    expect_drop(f, n, "udp_bad_checksum", "UDP with a bad checksum");
    wr16(ud + 4, 200);
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, ud, 20);
    expect_drop(f, n, "udp_bad", "UDP length past the packet");
    wr16(ud + 4, 4);
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, ud, 20);
    expect_drop(f, n, "udp_bad", "UDP length below the header");
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, ud, 5);
    expect_drop(f, n, "udp_bad", "a 5-byte UDP packet");
    wr16(ud + 2, 9999); wr16(ud + 4, 20); wr16(ud + 6, 0);
    n = cap_ipv4(f, IP_PROTO_UDP, PEER, ME, ud, 20);
    expect_drop(f, n, "udp_no_port", "a datagram to a closed port");
    is(udp_got, 1, "no malformed datagram reached the handler");

    /* TCP. */
    ok(tcp_listen(net_stack_net(s), 80, on_accept, NULL) != NULL, "listen on 80");
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x02, NULL, 0);
    f[n - 3] ^= 0x10;
    expect_drop(f, n, "tcp_bad_checksum", "SYN with a bad checksum");
    n = cap_ipv4(f, IP_PROTO_TCP, PEER, ME, p, 12);
    expect_drop(f, n, "tcp_bad", "a 12-byte TCP header");
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x02, NULL, 0);
    f[ETH_HLEN + IP_HLEN + 12] = 0x40;
    expect_drop(f, n, "tcp_bad", "data offset 4");
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x02, NULL, 0);
    f[ETH_HLEN + IP_HLEN + 12] = 0xf0;
    expect_drop(f, n, "tcp_bad", "data offset past the segment");
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x03, NULL, 0);
    expect_drop(f, n, "tcp_bad", "SYN and FIN together");
    uint8_t past[4] = {1, 1, 2, 4}; /* MSS option starting 2 bytes before the end */
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x02, past, 4);
    expect_drop(f, n, "tcp_bad_options", "an option running past the header");
    uint8_t zero_len[4] = {8, 0, 1, 1};
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x02, zero_len, 4);
    expect_drop(f, n, "tcp_bad_options", "an option of length 0");
    uint8_t bad_mss[4] = {2, 3, 5, 1};
    n = tcp_seg(f, 40000, 80, 1000, 0, 0x02, bad_mss, 4);
    expect_drop(f, n, "tcp_bad_options", "an MSS option of length 3");
    n = tcp_seg(f, 40000, 81, 1000, 0, 0x02, NULL, 0);
    cap_clear();
    uint64_t before = cap_stat(s, "tcp_no_conn");
    cap_inject(s, f, n, 0);
    r = cap.nsent ? cap.sent[0]->data + ETH_HLEN + IP_HLEN : NULL;
    ok(cap_stat(s, "tcp_no_conn") == before + 1 && r && (r[13] & 0x14) == 0x14 && rd32(r + 8) == 1001,
       "SYN to a closed port: RST+ACK acknowledging the SYN");
    uint8_t hostile[8] = {2, 4, 0, 0, 3, 3, 200, 0}; /* MSS 0, window scale 200 */
    n = tcp_seg(f, 40001, 80, 5000, 0, 0x02, hostile, 8);
    cap_clear();
    cap_inject(s, f, n, 0);
    r = cap.nsent ? cap.sent[0]->data + ETH_HLEN + IP_HLEN : NULL;
    ok(r && (r[13] & 0x12) == 0x12 && rd32(r + 8) == 5001 && (r[12] >> 4) >= 6 && r[20] == 2 &&
           rd16(r + 22) == 1460,
       "SYN with MSS 0 and window scale 200: a SYN-ACK with our MSS 1460");
    uint32_t iss = r ? rd32(r + 4) : 0;
    n = tcp_seg(f, 40001, 80, 5001, iss + 1, 0x10, NULL, 0);
    cap_inject(s, f, n, 0);
    is(accepted, 1, "the handshake completes: accepted once");
    n = tcp_seg(f, 40001, 80, 5001, iss + 1000, 0x10, NULL, 0);
    cap_clear();
    cap_inject(s, f, n, 0);
    ok(cap.nsent == 1, "an ACK of data never sent is answered with an ACK, not accepted");
    n = tcp_seg(f, 40001, 80, 5001 + 100000000, iss + 1, 0x04, NULL, 0);
    cap_clear();
    cap_inject(s, f, n, 0);
    is(accepted, 1, "an out-of-window RST is ignored");
    n = tcp_seg(f, 40001, 80, 5002, iss + 1, 0x04, NULL, 0);
    cap_clear();
    cap_inject(s, f, n, 0);
    ok(cap.nsent == 1 && (cap.sent[0]->data[ETH_HLEN + IP_HLEN + 13] & 0x10),
       "an in-window RST that is not exact gets a challenge ACK (RFC 5961)");

    /* SACK (RFC 2018): offered back when offered; out-of-order data is described in ACKs. */
    uint8_t sackp[8] = {2, 4, 5, 180, 1, 1, 4, 2};
    n = tcp_seg(f, 40003, 80, 9000, 0, 0x02, sackp, 8);
    cap_clear();
    cap_inject(s, f, n, 0);
    r = cap.nsent ? cap.sent[0]->data + ETH_HLEN + IP_HLEN : NULL;
    bool offered = false;
    for (size_t i = TCP_HLEN; r && i + 1 < (size_t)(r[12] >> 4) * 4;)
        if (r[i] == 1) i++; else { offered |= r[i] == 4 && r[i + 1] == 2; i += r[i + 1]; }
    ok(offered, "SYN with SACK-permitted: the SYN-ACK offers it too");
    uint32_t iss3 = r ? rd32(r + 4) : 0;
    n = tcp_seg(f, 40003, 80, 9001, iss3 + 1, 0x10, NULL, 0);
    cap_inject(s, f, n, 0);
    uint8_t seg[64];
    memset(seg, 0, sizeof seg);
    wr16(seg, 40003); wr16(seg + 2, 80); wr32(seg + 4, 9001 + 100); wr32(seg + 8, iss3 + 1);
    seg[12] = 5 << 4; seg[13] = 0x18; wr16(seg + 14, 65535);
    memcpy(seg + 20, "0123456789", 10);
    wr16(seg + 16, csum_fold(csum_add(csum_pseudo(PEER, ME, IP_PROTO_TCP, 30), seg, 30)));
    n = cap_ipv4(f, IP_PROTO_TCP, PEER, ME, seg, 30);
    cap_clear();
    cap_inject(s, f, n, 0);
    r = cap.nsent ? cap.sent[0]->data + ETH_HLEN + IP_HLEN : NULL;
    ok(r && rd32(r + 8) == 9001 && (r[12] >> 4) == 8 && r[22] == 5 && r[23] == 10 &&
           rd32(r + 24) == 9101 && rd32(r + 28) == 9111,
       "out-of-order data: a duplicate ACK with the SACK block [9101, 9111)");

    /* Random mutations of valid frames: never a crash, every frame accounted for. */
    uint8_t valid[4][200];
    size_t vlen[4];
    vlen[0] = cap_ipv4(valid[0], IP_PROTO_ICMP, PEER, ME, icmp, 40);
    wr16(ud + 2, 5353); wr16(ud + 4, 20); wr16(ud + 6, 0);
    vlen[1] = cap_ipv4(valid[1], IP_PROTO_UDP, PEER, ME, ud, 20);
    vlen[2] = tcp_seg(valid[2], 40002, 80, 7000, 0, 0x02, hostile, 8);
    vlen[3] = tcp_seg(valid[3], 40001, 80, 5001, iss + 1, 0x18, NULL, 0);
    srand(42);
    uint64_t rx_before = cap_stat(s, "rx_frames"), drops_before = input_drops();
    unsigned frames = 20000, unchanged = 0, must_drop = 0;
    for (unsigned i = 0; i < frames; i++) {
        unsigned k = (unsigned)rand() % 4;
        memcpy(f, valid[k], vlen[k]);
        size_t len = vlen[k];
        for (int m = rand() % 4; m >= 0; m--)
            f[ETH_HLEN + (size_t)rand() % (len - ETH_HLEN)] = (uint8_t)rand();
        if (rand() % 4 == 0)
            len = ETH_HLEN + (size_t)rand() % (len - ETH_HLEN);
        if (len == vlen[k] && memcmp(f, valid[k], len) == 0)
            unchanged++;
        else if (k != 1) /* checksummed (UDP's is 0 here: a changed payload is still valid) */
            must_drop++;
        cap_inject(s, f, len, 0);
        cap_clear();
    }
    is(cap_stat(s, "rx_frames") - rx_before, frames, "20000 mutated frames handled without a crash");
    /* Every changed frame with a checksum is dropped and counted under exactly one reason; a
     * changed UDP datagram may be delivered; an unchanged frame is served. */
    uint64_t drops = input_drops() - drops_before;
    ok(drops >= must_drop && drops <= frames - unchanged,
       "every frame accounted for: %llu dropped under a reason, of %u changed frames (%u with "
       "a checksum); %u unchanged served", (unsigned long long)drops, frames - unchanged,
       must_drop, unchanged);
    /* Off the subnet: through the gateway (its MAC, the far address in the IP header). */
    cap_clear();
    struct iobuf *far = iobuf_alloc(NET_HEADROOM + 3, NET_HEADROOM);
    memcpy(iobuf_append(far, 3), "far", 3);
    udp_send(u, IP4(192, 0, 2, 7), 53, far);
    ok(cap.nsent == 1 && memcmp(cap.sent[0]->data, peer_mac, 6) == 0 &&
           rd32(cap.sent[0]->data + ETH_HLEN + 16) == IP4(192, 0, 2, 7),
       "a datagram off the subnet goes to the gateway's MAC");
    udp_close(u);

    /* ARP: a datagram to a silent neighbour waits for the reply; requests are retried, then
     * the entry times out and the waiting packet is dropped and counted. */
    arp_req_before = cap_stat(s, "arp_requests");
    struct udp_sock *u2 = udp_bind(net_stack_net(s), 0, on_udp, NULL);
    cap_clear();
    struct iobuf *x = iobuf_alloc(NET_HEADROOM + 1, NET_HEADROOM);
    *iobuf_append(x, 1) = 'x';
    udp_send(u2, IP4(10, 9, 0, 50), 9, x);
    ok(cap.nsent == 1 && rd16(cap.sent[0]->data + 12) == ETH_P_ARP && rd32(cap.sent[0]->data + 38) == IP4(10, 9, 0, 50),
       "a datagram to an unknown neighbour sends an ARP request first");
    udp_close(u2);
    static struct ebb_timer t;
    ebb_timer_start(&t, 3800000000ull, check_arp, NULL);
}
