/* Fuzz target: frames into a stack, with the application acting between them. The fuzzer is the
 * peer at PEER: it sends TCP segments whose sequence and acknowledgment numbers are offsets from
 * what the stack last sent (so that handshakes, data and ACKs are reachable), raw frames, and
 * between them the application sends, closes, aborts, connects, and time passes. Every input
 * starts from a stack with only a listener: at its end connections are aborted and the clock
 * moves an hour on. */
#include <string.h>
#include "core/event.h"
#include "net/internal.h"
#include "tests/fuzz/harness.h"

static const uint8_t our_mac[6] = {2, 0, 0, 0, 0, 2}, peer_mac[6] = {2, 0, 0, 0, 0, 1};
static const ip4_t ME = IP4(10, 9, 0, 2), PEER = IP4(10, 9, 0, 1);
static struct net_stack *s;

/* What the stack sent last, to aim the next segment. */
static uint32_t our_seq_end, our_ack;
static uint16_t our_port; /* source port of our last segment */
static bool arp_asked;

static int cap_send(void *rep, struct iobuf *f)
{
    (void)rep;
    uint8_t h[ETH_HLEN + IP_HLEN + TCP_HLEN];
    size_t n = iobuf_copy_out(f, 0, h, sizeof h);
    if (n >= ETH_HLEN + 28 && rd16(h + 12) == ETH_P_ARP && rd16(h + ETH_HLEN + 6) == 1)
        arp_asked = true;
    if (n == sizeof h && rd16(h + 12) == ETH_P_IP && h[ETH_HLEN + 9] == IP_PROTO_TCP) {
        const uint8_t *t = h + ETH_HLEN + IP_HLEN;
        size_t len = rd16(h + ETH_HLEN + 2) - IP_HLEN - (size_t)(t[12] >> 4) * 4;
        our_port = rd16(t);
        our_seq_end = rd32(t + 4) + (uint32_t)len + ((t[13] & 3) ? 1 : 0);
        our_ack = rd32(t + 8);
    }
    iobuf_free(f);
    return 0;
}
static void cap_attach(void *rep, struct net_stack *st) { (void)rep, (void)st; }
static void cap_mac(void *rep, uint8_t *out) { (void)rep; memcpy(out, our_mac, 6); }
static unsigned cap_mtu(void *rep) { (void)rep; return 1500; }
static unsigned cap_features(void *rep) { (void)rep; return 0; }
static const struct netif cap_ops = {cap_attach, cap_send, cap_mac, cap_mtu, cap_features};
static struct { const struct netif *ops; } cap = {&cap_ops};
static void *cap_rep(struct ebb_root *r, unsigned core) { (void)core; return r->arg; }
static struct ebb_root cap_root = {.name = "fuzz-capture", .iface = NETIF_IFACE,
                                   .kind = EBB_SHARED, .create_rep = cap_rep, .arg = &cap};

static void inject(const uint8_t *f, size_t len)
{
    struct iobuf *b = iobuf_alloc(len + 16, 16);
    memcpy(iobuf_append(b, len), f, len);
    net_stack_input(s, b);
}

/* The application's connections: a slot is emptied when the handle is gone. */
#define SLOTS 4
static struct slot {
    struct tcp_conn *c;
    bool app_closed, peer_closed;
} slots[SLOTS];

static struct slot *slot_of(struct tcp_conn *c)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].c == c)
            return &slots[i];
    return NULL;
}
static void add(struct tcp_conn *c)
{
    for (int i = 0; i < SLOTS; i++)
        if (!slots[i].c) {
            slots[i] = (struct slot){.c = c};
            return;
        }
    tcp_abort(c);
}
static void on_connected(void *arg, struct tcp_conn *c) { (void)arg; if (!slot_of(c)) add(c); }
static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *d) { (void)arg, (void)c; iobuf_free(d); }
static void on_closed(void *arg, struct tcp_conn *c)
{
    (void)arg;
    struct slot *sl = slot_of(c);
    if (!sl)
        return;
    sl->peer_closed = true;
    if (sl->app_closed)
        sl->c = NULL;
}
static void on_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)arg, (void)err;
    struct slot *sl = slot_of(c);
    if (sl)
        sl->c = NULL;
}
static const struct tcp_handlers handlers = {on_connected, on_receive, on_closed, on_aborted, NULL};
static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    tcp_set_handlers(c, &handlers, NULL);
    add(c);
}

static void segment(struct fuzz_in *in)
{
    uint8_t f[ETH_HLEN + IP_HLEN + 60 + 1460];
    uint8_t sel = fin_u8(in), flags = fin_u8(in);
    uint16_t sport = 1000 + (sel & 1), dport = (sel & 2) ? our_port : 80;
    int8_t dseq = (int8_t)fin_u8(in), dack = (int8_t)fin_u8(in);
    uint32_t seq = our_ack + (uint32_t)(sel & 4 ? (int32_t)dseq * 1000 : dseq);
    uint32_t ack = our_seq_end + (uint32_t)(int32_t)dack;
    if (sel & 8)
        seq = fin_u32(in), ack = fin_u32(in);
    uint16_t win = fin_u16(in);
    size_t optlen = (size_t)(fin_u8(in) % 11) * 4;
    size_t plen = fin_u8(in);
    if (sel & 16)
        plen *= 8;
    if (plen > 1460)
        plen = 1460;
    uint8_t *t = f + ETH_HLEN + IP_HLEN;
    memset(t, 0, TCP_HLEN);
    wr16(t, sport);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
    t[13] = flags;
    wr16(t + 14, win);
    const uint8_t *src;
    size_t k = fin_take(in, optlen, &src);
    memcpy(t + TCP_HLEN, src, k);
    memset(t + TCP_HLEN + k, 0, optlen - k);
    memset(t + TCP_HLEN + optlen, 'd', plen);
    size_t tl = TCP_HLEN + optlen + plen;
    wr16(t + 16, csum_fold(csum_add(csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)tl), t, tl)));
    if (sel & 32)
        t[16] ^= 1; /* a bad checksum now and then */
    memcpy(f, our_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    wr16(f + 12, ETH_P_IP);
    uint8_t *ip = f + ETH_HLEN;
    memset(ip, 0, IP_HLEN);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t)(IP_HLEN + tl));
    ip[8] = 64;
    ip[9] = IP_PROTO_TCP;
    wr32(ip + 12, PEER);
    wr32(ip + 16, ME);
    wr16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
    inject(f, ETH_HLEN + IP_HLEN + tl);
}

static void raw(struct fuzz_in *in)
{
    uint8_t f[300];
    const uint8_t *src;
    size_t k = fin_take(in, fin_u8(in), &src);
    memcpy(f, our_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    memcpy(f + 12, src, k);
    inject(f, 12 + k);
}

/* Answers the stack's ARP request for the peer (only a reply to its own request is learnt). */
static void answer_arp(void)
{
    if (!arp_asked)
        return;
    arp_asked = false;
    uint8_t f[ETH_HLEN + 28];
    memcpy(f, our_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    wr16(f + 12, ETH_P_ARP);
    uint8_t *a = f + ETH_HLEN;
    wr16(a, 1); wr16(a + 2, ETH_P_IP); a[4] = 6; a[5] = 4; wr16(a + 6, 2);
    memcpy(a + 8, peer_mac, 6); wr32(a + 14, PEER); memcpy(a + 18, our_mac, 6); wr32(a + 24, ME);
    inject(f, sizeof f);
}

void fuzz_init(void)
{
    ebb_id_t id = ebb_id_alloc();
    ebb_bind(id, &cap_root);
    struct net_stack_config cfg = {.ip = ME, .prefix = 24, .gw = PEER, .sack = true};
    s = net_stack_new(id, &cfg);
    tcp_listen(net_stack_net(s), 80, on_accept, NULL);
}

int fuzz_one(const uint8_t *data, size_t n)
{
    struct fuzz_in in = {data, n};
    for (int steps = 0; in.n && steps < 32; steps++) {
        uint8_t op = fin_u8(&in);
        struct slot *sl = &slots[(op >> 4) % SLOTS];
        switch (op & 7) {
        case 0: case 1: segment(&in); break;
        case 2: raw(&in); break;
        case 3:
            if (sl->c && !sl->app_closed) {
                size_t len = (size_t)fin_u8(&in) * 64 + 1;
                struct iobuf *b = iobuf_alloc(len, 0);
                memset(iobuf_append(b, len), 's', len);
                if (op & 8)
                    tcp_send_buffered(sl->c, b);
                else if (tcp_send(sl->c, b) < 0)
                    iobuf_free(b);
            }
            break;
        case 4:
            if (sl->c && !sl->app_closed) {
                sl->app_closed = true;
                struct tcp_conn *c = sl->c;
                if (sl->peer_closed)
                    sl->c = NULL;
                tcp_close(c);
            }
            break;
        case 5:
            if (sl->c) {
                struct tcp_conn *c = sl->c;
                sl->c = NULL;
                tcp_abort(c);
            }
            break;
        case 6:
            ebb_future_drop(tcp_connect(net_stack_net(s), PEER, (uint16_t)(1000 + (op >> 7)),
                                        &handlers, NULL));
            break;
        case 7: fuzz_advance_ns((uint64_t)fin_u8(&in) * 20000000ull); break;
        }
        fuzz_settle();
        answer_arp();
        fuzz_settle();
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].c) {
            struct tcp_conn *c = slots[i].c;
            slots[i].c = NULL;
            tcp_abort(c);
        }
    /* 40 minutes later every connection left (half-open, SYN_SENT: 6 tries; TIME_WAIT) and
     * every ARP entry is gone. */
    for (int i = 0; i < 8; i++) {
        fuzz_advance_ns(300ull * 1000000000);
        fuzz_settle();
    }
    return 0;
}
