/* The TCP stack against a hostile peer (issue 11's findings), played by hand over a capture
 * interface: simultaneous open, a 100,000-SYN flood, out-of-order and zero-window memory,
 * keepalive, FIN_WAIT_2, TIME_WAIT, challenge ACKs, listener close (also from another core,
 * under a SYN stream: the race stress test). RSS growth is printed where a peer could grow it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "core/event.h"
#include "tests/net_capture.h"
#include "tests/attack_util.h"
#include "tests/tap.h"

static struct net_stack *s;
static struct net *n;
static const ip4_t ME = IP4(10, 9, 0, 2), PEER = IP4(10, 9, 0, 1);
static uint8_t f[1600];

/* ASan keeps freed memory in quarantine: RSS bounds are checked on the plain build only (the
 * ASan build of this test is for memory safety). */
#ifdef __SANITIZE_ADDRESS__
#define RSS_OK(cond, ...) tap_skip(1, "RSS bounds: plain build only")
#else
#define RSS_OK(cond, ...) ok(cond, __VA_ARGS__)
#endif


/* Lets spawned work (ACK flushes, forwarded segments) run. */
static void settle(void) { sleep_ms(2); }

static void seg(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                uint16_t wnd, size_t plen)
{
    size_t len = cap_tcp(f, PEER, ME, sport, dport, seq, ack, flags, wnd, NULL, 0, plen);
    cap_inject(s, f, len, 0);
}

/* The last TCP segment we sent to the peer's port. */
static const uint8_t *last_tcp(uint16_t port)
{
    for (unsigned i = cap.nsent; i-- > 0;)
        if (cap_tcp_hdr(i) && rd16(cap_tcp_hdr(i) + 2) == port)
            return cap_tcp_hdr(i);
    return NULL;
}

/* The application's side of a connection. Each test's is static: the stack may call back into
 * it after the test function returned (a connection leaving TIME_WAIT, a late accept). */
struct app {
    struct tcp_conn *c;
    int aborted, err, closed;
    uint64_t received;
};
static void a_connected(void *arg, struct tcp_conn *c) { ((struct app *)arg)->c = c; }
static void a_receive(void *arg, struct tcp_conn *c, struct iobuf *d)
{
    (void)c;
    ((struct app *)arg)->received += iobuf_chain_len(d);
    iobuf_free(d);
}
static void a_closed(void *arg, struct tcp_conn *c) { (void)c; ((struct app *)arg)->closed = 1; }
static void a_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)c;
    struct app *a = arg;
    a->aborted = 1;
    a->err = err;
    a->c = NULL;
}
static const struct tcp_handlers app_h = {a_connected, a_receive, a_closed, a_aborted, NULL};
static struct app *accepted_into;
static int accepts;
static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    accepts++;
    if (accepted_into) {
        tcp_set_handlers(c, &app_h, accepted_into);
        accepted_into->c = c;
    } else {
        tcp_abort(c);
    }
}

/* A connection accepted on port 80 from PEER:sport; returns the peer's next seq and sets *our
 * to ours. Window scale is not offered, so windows are plain. */
static uint32_t handshake(uint16_t sport, struct app *a, uint32_t *our, uint16_t wnd)
{
    accepted_into = a;
    cap_clear();
    uint8_t mss[4] = {2, 4, 0x05, 0xb4};
    size_t len = cap_tcp(f, PEER, ME, sport, 80, 1000, 0, 0x02, wnd, mss, 4, 0);
    cap_inject(s, f, len, 0);
    settle();
    const uint8_t *t = last_tcp(sport);
    uint32_t iss = t ? rd32(t + 4) : 0;
    seg(sport, 80, 1001, iss + 1, 0x10, wnd, 0);
    settle();
    accepted_into = NULL; /* a later accept must not write into a finished test's app */
    *our = iss + 1;
    return 1001;
}

static void test_simultaneous_open(void)
{
    cap_clear();
    static struct app a;
    ebb_future_t fu = tcp_connect(n, PEER, 7777, &app_h, &a);
    settle();
    const uint8_t *t = last_tcp(7777);
    uint32_t iss = t ? rd32(t + 4) : 0;
    uint16_t lport = t ? rd16(t) : 0;
    seg(7777, lport, 5000, 0, 0x02, 65535, 0); /* a bare SYN: our SYN and theirs crossed */
    settle();
    seg(7777, lport, 5001, iss + 1, 0x10, 65535, 0); /* the ACK of our SYN (once crashed) */
    settle();
    uint64_t v = 0;
    int err = -1;
    ok(ebb_future_try(fu, &err, &v) && err == 0 && v == (uintptr_t)a.c,
       "simultaneous open: the peer's bare SYN then ACK complete our connect (no crash)");
    if (a.c)
        tcp_abort(a.c);
}

static void test_syn_flood(void)
{
    long before = rss_kb();
    uint64_t rng = 12345;
    for (int i = 0; i < 100000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        ip4_t src = IP4(198, 18, 0, 0) | (ip4_t)(rng & 0x1ffff); /* spoofed, off the subnet */
        size_t len = cap_tcp(f, src, ME, (uint16_t)(1024 + (rng >> 20) % 60000), 80,
                             (uint32_t)(rng >> 32), 0, 0x02, 65535, NULL, 0, 0);
        cap_inject(s, f, len, 0);
        if (i % 1000 == 0)
            cap_clear();
    }
    settle();
    long grew = rss_kb() - before;
    diag("100000 spoofed SYNs: RSS grew %ld KiB; %llu SYN cookies sent", grew,
         (unsigned long long)cap_stat(s, "tcp_syncookies_sent"));
    ok(cap_stat(s, "tcp_syncookies_sent") >= 99000, "past the backlog, SYNs are answered with cookies");
    static struct app a;
    int acc = accepts;
    uint32_t our;
    handshake(4444, &a, &our, 65535);
    ok(accepts == acc + 1 && a.c, "after 100k spoofed SYNs a legitimate client still connects");
    ok(cap_stat(s, "tcp_syncookies_ok") >= 1, "(through a SYN cookie)");
    RSS_OK(grew < 64 * 1024, "the flood grew RSS by %ld KiB (< 64 MiB)", grew);
    if (a.c)
        tcp_abort(a.c);
}

static void test_ooo_bytes(void)
{
    static struct app a;
    uint32_t our;
    uint32_t next = handshake(4445, &a, &our, 65535);
    long before = rss_kb();
    /* 1-byte segments with gaps, each in a NIC-sized 2 KiB buffer. */
    for (uint32_t i = 0; i < 20000; i++) {
        size_t len = cap_tcp(f, PEER, ME, 4445, 80, next + 2 + 2 * i, our, 0x10, 65535, NULL, 0, 1);
        cap_inject(s, f, len, 2048);
        if (i % 1000 == 0)
            cap_clear();
    }
    settle();
    long grew = rss_kb() - before;
    diag("20000 out-of-order 1-byte segments: RSS grew %ld KiB", grew);
    ok(cap_stat(s, "tcp_ooo_drops") > 0, "out-of-order bytes past the per-connection limit are dropped, counted");
    RSS_OK(grew < 4 * 1024, "RSS grew %ld KiB (< 4 MiB; the limit is %u KiB)", grew,
           NET_OOO_MAX_DEFAULT >> 10);
    /* The hole filled: what was kept is delivered in order. */
    seg(4445, 80, next, our, 0x10, 65535, 2);
    settle();
    ok(a.received > 2 && a.c, "filling the hole delivers what was kept (%llu bytes)",
       (unsigned long long)a.received);
    if (a.c)
        tcp_abort(a.c);
}

static void test_zero_window(void)
{
    static struct app a;
    uint32_t our;
    handshake(4446, &a, &our, 0); /* a window of zero, forever */
    long before = rss_kb();
    uint64_t refused = tcp_sendq_refused();
    int ret = 0, calls = 0;
    for (; calls < 50000 && ret == 0; calls++) {
        struct iobuf *b = iobuf_alloc(1024, 0);
        memset(iobuf_append(b, 1024), 'z', 1024);
        ret = tcp_send_buffered(a.c, b);
    }
    long grew = rss_kb() - before;
    diag("zero-window peer: %d KiB queued before -ENOBUFS; RSS grew %ld KiB", calls, grew);
    ok(ret == -ENOBUFS && tcp_sendq_refused() == refused + 1,
       "tcp_send_buffered refuses past the limit (-ENOBUFS), counted");
    ok(tcp_buffered(a.c) <= TCP_SENDQ_MAX_DEFAULT, "queued %zu bytes <= the limit", tcp_buffered(a.c));
    RSS_OK(grew < (TCP_SENDQ_MAX_DEFAULT >> 10) * 3 / 2, "RSS grew %ld KiB (< 1.5 x the limit of %u KiB)",
           grew, TCP_SENDQ_MAX_DEFAULT >> 10);
    /* The peer answers probes with window 0: the connection is given up (persist_max_ms). */
    for (int i = 0; i < 60 && !a.aborted; i++) {
        settle();
        if (last_tcp(4446)) { /* a probe: answered, the window still shut */
            seg(4446, 80, 1001, our, 0x10, 0, 0);
            cap_clear();
        }
        sleep_ms(100);
    }
    ok(a.aborted && a.err == ETIMEDOUT && cap_stat(s, "tcp_persist_giveups") == 1,
       "a window shut past persist_max_ms drops the connection (ETIMEDOUT), counted");
}

static void test_keepalive(void)
{
    static struct app a;
    uint32_t our;
    handshake(4447, &a, &our, 65535);
    for (int i = 0; i < 50 && !a.aborted; i++)
        sleep_ms(100); /* the peer goes silent */
    ok(a.aborted && a.err == ETIMEDOUT && cap_stat(s, "tcp_keepalive_probes") == 3 &&
           cap_stat(s, "tcp_keepalive_drops") == 1,
       "a silent peer: keepalive probes, then the connection is dropped (ETIMEDOUT), counted");
}

static void test_fin_wait2(void)
{
    static struct app a;
    uint32_t our;
    uint32_t next = handshake(4448, &a, &our, 65535);
    tcp_close(a.c);
    settle();
    seg(4448, 80, next, our + 1, 0x10, 65535, 0); /* ACKs our FIN, never sends its own */
    for (int i = 0; i < 50 && !a.aborted; i++)
        sleep_ms(100);
    ok(a.aborted && cap_stat(s, "tcp_fin_wait2_drops") == 1,
       "FIN_WAIT_2 with a silent peer ends after fin_wait2_ms, counted");
}

static void test_time_wait(void)
{
    static struct app a;
    uint32_t our;
    uint32_t next = handshake(4449, &a, &our, 65535);
    tcp_close(a.c);
    settle();
    seg(4449, 80, next, our + 1, 0x11, 65535, 0); /* ACK and FIN: we enter TIME_WAIT (500 ms) */
    settle();
    for (int i = 0; i < 12; i++) { /* out-of-window segments, 1.2 s */
        seg(4449, 80, next + 100000, our + 1, 0x10, 65535, 0);
        sleep_ms(100);
    }
    cap_clear();
    seg(4449, 80, next + 1, our + 1, 0x10, 65535, 0);
    settle();
    const uint8_t *t = last_tcp(4449);
    ok(t && (t[13] & 0x04), "out-of-window segments do not restart TIME_WAIT: the connection is "
       "gone after it (an ACK now gets a RST)");
}

static void test_challenge_acks(void)
{
    static struct app a;
    uint32_t our;
    uint32_t next = handshake(4450, &a, &our, 65535);
    cap_clear();
    uint64_t sup = cap_stat(s, "tcp_challenge_acks_suppressed");
    uint64_t total = cap.total;
    for (int i = 0; i < 100; i++)
        seg(4450, 80, next + 10 + (uint32_t)i, 0, 0x04, 65535, 0); /* in-window, not exact */
    settle();
    uint64_t sent = cap.total - total;
    /* 10 a second: at most 20 if the burst straddles a second. */
    ok(sent <= 20 && cap_stat(s, "tcp_challenge_acks_suppressed") - sup >= 80,
       "100 forged RSTs get at most 10 challenge ACKs a second (sent %llu), the rest counted",
       (unsigned long long)sent);
    ok(a.c && !a.aborted, "and the connection survives them");
    if (a.c)
        tcp_abort(a.c);
}

/* Listener close: half-open connections are reset and freed at once. */
static void test_listener_close(void)
{
    struct tcp_listener *l = tcp_listen(n, 81, on_accept, NULL);
    for (uint16_t i = 0; i < 10; i++)
        seg((uint16_t)(6000 + i), 81, 1000, 0, 0x02, 65535, 0);
    settle();
    uint64_t before = cap_stat(s, "tcp_listener_resets");
    tcp_listener_close(l);
    settle();
    is(cap_stat(s, "tcp_listener_resets") - before, 10,
       "closing a listener resets its 10 half-open connections");
    seg(6000, 81, 1001, 1, 0x10, 65535, 0);
    settle();
}

/* Closing a listener from another core while SYNs for it stream in (ASan watches). */
static struct tcp_listener *race_l;
static void listen_on_1(void *arg)
{
    race_l = tcp_listen(n, 82, on_accept, NULL);
    ebb_promise_set(*(ebb_promise_t *)arg, 0);
}
static void test_listener_race(void)
{
    int rounds = 0;
    uint64_t before = cap_stat(s, "tcp_listener_resets");
    for (; rounds < 200; rounds++) {
        ebb_promise_t p;
        ebb_future_t fu = ebb_promise_new(&p);
        ebb_spawn_on(1, listen_on_1, &p);
        ebb_future_block(fu, NULL);
        for (uint16_t i = 0; i < 20; i++) {
            seg((uint16_t)(7000 + i + rounds * 20), 82, 1000, 0, 0x02, 65535, 0);
            if (i == 10)
                tcp_listener_close(race_l); /* from core 0: the listener lives on core 1 */
        }
        if (rounds % 20 == 0)
            cap_clear();
    }
    sleep_ms(50);
    cap_clear();
    diag("%d rounds; %llu half-open connections reset by the closes", rounds,
         (unsigned long long)(cap_stat(s, "tcp_listener_resets") - before));
    ok(cap_stat(s, "tcp_listener_resets") > before,
       "200 listener closes from another core, racing SYNs: no crash, half-open ones reset");
}

static void tests(void *arg)
{
    (void)arg;
    struct net_limits lim = {.persist_max_ms = 2000, .keepalive_ms = 300, .keepalive_intvl_ms = 100,
                             .keepalive_probes = 3, .fin_wait2_ms = 300, .challenge_acks_per_s = 10};
    s = cap_stack(ME, PEER, &lim);
    n = net_stack_net(s);
    /* The peer's MAC: answer the stack's ARP request (only that is learnt). */
    uint8_t echo[8] = {8, 0, 0, 0, 0, 1, 0, 1};
    wr16(echo + 2, csum_fold(csum_add(0, echo, 8)));
    cap_inject(s, f, cap_ipv4(f, IP_PROTO_ICMP, PEER, ME, echo, 8), 0);
    cap_arp(f, 2, peer_mac, PEER, our_mac, ME);
    cap_inject(s, f, ETH_HLEN + 28, 0);
    ok(tcp_listen(n, 80, on_accept, NULL) != NULL, "listening on port 80");
    test_simultaneous_open();
    test_syn_flood();
    test_ooo_bytes();
    test_zero_window();
    test_keepalive();
    test_fin_wait2();
    test_time_wait();
    test_challenge_acks();
    test_listener_close();
    test_listener_race();
    cap_clear();
    ebb_exit(tap_done());
}

void app_main(void) { ebb_spawn(tests, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
    tap_plan(20);
    tap_deadline(240);
    char *args[] = {argv[0], "cores=2", NULL};
    return ebb_run(2, args);
}
