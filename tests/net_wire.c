/* Two stacks over the in-memory wire with loss, corruption, duplication and reordering: TCP
 * moves data both ways at once byte-exact and both sides close cleanly; UDP and ping-free basics
 * work over a clean wire first.
 *   net_wire [mb=10] [loss=10] [corrupt=10] [dup=10] [reorder=10] [cores=2] */
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include "core/config.h"
#include "core/event.h"
#include "net/stack.h"
#include "net/wire.h"
#include "tests/tap.h"

static struct net_stack *sa, *sb;
static struct net *na, *nb;
static ebb_id_t ids[2];
static uint64_t total;
static struct ebb_timer deadline;
static uint64_t t_start;
static struct wire_faults faults;

static uint8_t pattern(uint64_t i, unsigned dir)
{
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (dir ? 0xa5a5a5a5u : 0x5a5a5a5au);
    x ^= x >> 29;
    return (uint8_t)(x ^ (x >> 17) ^ (i >> 12));
}

/* One end of the bulk transfer. */
struct end {
    const char *name;
    unsigned dir;          /* pattern of what this end sends */
    struct tcp_conn *c;
    uint64_t sent, rcvd;
    bool mismatch, peer_closed, closed_sent, aborted;
    int abort_err;
};
static struct end ea = {.name = "client", .dir = 0}, eb = {.name = "server", .dir = 1};
static int ends_done;
static _Atomic bool wrong_core;

static void finish(void);

static void pump(struct end *e)
{
    while (e->sent < total) {
        size_t w = tcp_send_window(e->c);
        if (w == 0)
            return;
        uint64_t n = total - e->sent;
        if (n > w)
            n = w;
        if (n > 65536)
            n = 65536;
        struct iobuf *b = iobuf_alloc(n, 0);
        uint8_t *p = iobuf_append(b, n);
        for (uint64_t i = 0; i < n; i++)
            p[i] = pattern(e->sent + i, e->dir);
        int err = tcp_send(e->c, b);
        if (err) {
            diag("%s: tcp_send: %d", e->name, err);
            iobuf_free(b);
            return;
        }
        e->sent += n;
    }
    if (!e->closed_sent) {
        e->closed_sent = true;
        tcp_close(e->c);
        if (e->peer_closed)
            finish();
    }
}

static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
    struct end *e = arg;
    wrong_core |= ebb_core() != tcp_core(c);
    struct iobuf_cursor cur;
    iobuf_cursor_init(&cur, data);
    size_t n = iobuf_cursor_remaining(&cur);
    for (size_t i = 0; i < n && !e->mismatch; i++)
        if (iobuf_cursor_u8(&cur) != pattern(e->rcvd + i, !e->dir)) {
            diag("%s: byte %llu differs", e->name, (unsigned long long)(e->rcvd + i));
            e->mismatch = true;
        }
    e->rcvd += n;
    iobuf_free(data);
}

static void on_window(void *arg, struct tcp_conn *c)
{
    (void)c;
    pump(arg);
}

static void on_closed(void *arg, struct tcp_conn *c)
{
    (void)c;
    struct end *e = arg;
    e->peer_closed = true;
    if (e->closed_sent)
        finish();
}

static void on_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)c;
    struct end *e = arg;
    e->aborted = true;
    e->abort_err = err;
    diag("%s: aborted: %d", e->name, err);
    finish();
}

static const struct tcp_handlers handlers = {
    .receive = on_receive, .closed = on_closed, .aborted = on_aborted, .window_opened = on_window,
};

static void report(void)
{
    struct wire_counts wc;
    wire_counts(ids[0], &wc);
    double secs = (double)(ebb_now_ns() - t_start) / 1e9;
    diag("%.2f s; wire: frames=%llu lost=%llu corrupted=%llu duplicated=%llu reordered=%llu", secs,
         (unsigned long long)wc.frames, (unsigned long long)wc.lost,
         (unsigned long long)wc.corrupted, (unsigned long long)wc.duplicated,
         (unsigned long long)wc.reordered);
    char buf[2048];
    net_stack_format_stats(sa, buf, sizeof buf);
    diag("A: %s", buf);
    net_stack_format_stats(sb, buf, sizeof buf);
    diag("B: %s", buf);
}

static void exit_now(void *arg)
{
    (void)arg;
    ebb_exit(tap_done());
}

static void finish_all(void *arg)
{
    (void)arg;
    ebb_timer_cancel(&deadline);
    report();
    struct end *es[2] = {&ea, &eb};
    for (int i = 0; i < 2; i++) {
        struct end *e = es[i];
        ok(!e->aborted, "%s: not aborted", e->name);
        is(e->sent, total, "%s: sent all %llu bytes", e->name, (unsigned long long)total);
        is(e->rcvd, total, "%s: received all bytes", e->name);
        ok(!e->mismatch, "%s: received bytes are exact", e->name);
        ok(e->peer_closed, "%s: saw the peer's FIN", e->name);
    }
    ok(!wrong_core, "handlers ran on the core that owns the connection");
    /* The seed is fixed and thousands of frames cross, so every configured fault happened; the
     * counters show each side's recovery from it. */
    struct net_stats a, b;
    net_stack_stats(sa, &a);
    net_stack_stats(sb, &b);
    struct wire_counts wc;
    wire_counts(ids[0], &wc);
    if (faults.loss_pct) {
        ok(wc.lost > 0, "the wire lost frames (%llu)", (unsigned long long)wc.lost);
        ok(a.tcp_retransmits && b.tcp_retransmits && a.tcp_fast_retransmits && b.tcp_fast_retransmits &&
               a.tcp_timeouts && b.tcp_timeouts,
           "both sides repaired losses: retransmits %llu/%llu, fast retransmits %llu/%llu, RTO expiries %llu/%llu",
           (unsigned long long)a.tcp_retransmits, (unsigned long long)b.tcp_retransmits,
           (unsigned long long)a.tcp_fast_retransmits, (unsigned long long)b.tcp_fast_retransmits,
           (unsigned long long)a.tcp_timeouts, (unsigned long long)b.tcp_timeouts);
    }
    if (faults.corrupt_pct)
        ok(wc.corrupted > 0 && a.tcp_bad_checksum + a.ip_bad_checksum > 0 &&
               b.tcp_bad_checksum + b.ip_bad_checksum > 0,
           "%llu corrupted frames: both sides caught some by checksum and dropped them",
           (unsigned long long)wc.corrupted);
    if (faults.dup_pct || faults.reorder_pct)
        ok(wc.duplicated + wc.reordered > 0 && a.tcp_ooo_segments && b.tcp_ooo_segments &&
               a.tcp_out_of_window && b.tcp_out_of_window,
           "duplicated/reordered frames (%llu/%llu): both sides kept out-of-order segments and "
           "dropped old ones", (unsigned long long)wc.duplicated, (unsigned long long)wc.reordered);
    /* Let TIME_WAIT end and deferred frees run, so the sanitizer sees no leak. */
    ebb_timer_start(&deadline, 400000000ull, exit_now, NULL);
}

static void finish(void)
{
    if (++ends_done == 2 || ea.aborted || eb.aborted)
        ebb_spawn_on(0, finish_all, NULL);
}


/* The server connection moves to the last core (per-core ownership): its segments are then
 * found without locks on the interface's core and forwarded there; `connected` says the move
 * is done. */
static void server_moved(void *arg, struct tcp_conn *c)
{
    struct end *e = arg;
    wrong_core |= ebb_core() != tcp_core(c);
    pump(e);
}

static struct tcp_handlers server_handlers;

static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    eb.c = c;
    server_handlers = handlers;
    server_handlers.connected = server_moved;
    tcp_set_handlers(c, &server_handlers, &eb);
    unsigned target = ebb_ncores() - 1;
    int err = tcp_bind_core(c, target);
    ok(err == 0, "accepted connection asked to move to core %u", target);
    if (target == ebb_core())
        pump(&eb); /* one core: no move, no `connected` */
}

static ebb_future_t connected(void *arg, int err, uint64_t v)
{
    (void)arg;
    if (!ok(err == 0, "connect over a lossy wire succeeds")) {
        diag("error %d", err);
        report();
        ebb_exit(tap_done());
        return ebb_future_ready(0);
    }
    ea.c = (struct tcp_conn *)(uintptr_t)v;
    pump(&ea);
    return ebb_future_ready(0);
}

static void timeout(void *arg)
{
    (void)arg;
    ok(0, "transfer finished before the deadline (client %llu/%llu, server %llu/%llu)",
       (unsigned long long)ea.rcvd, (unsigned long long)total, (unsigned long long)eb.rcvd,
       (unsigned long long)total);
    report();
    ebb_exit(tap_done());
}

/* Phase 1, clean wire: UDP datagrams both ways. */
static int udp_got;
static void udp_echo(void *arg, struct udp_sock *s, ip4_t src, uint16_t sport, struct iobuf *d)
{
    (void)arg;
    udp_send(s, src, sport, d);
}
static struct udp_sock *ua;
static void start_tcp(void);
static void udp_reply(void *arg, struct udp_sock *s, ip4_t src, uint16_t sport, struct iobuf *d)
{
    (void)arg;
    (void)s;
    char buf[16] = {0};
    iobuf_copy_out(d, 0, buf, sizeof buf - 1);
    iobuf_free(d);
    if (udp_got++ == 0) {
        ok(src == IP4(10, 0, 0, 2) && sport == 7007, "UDP reply from the server's address/port");
        ok(strcmp(buf, "ping") == 0, "UDP echo payload intact");
        udp_close(ua);
        start_tcp();
    }
}

static void start_tcp(void)
{
    unsigned mb = (unsigned)ebb_config_int("mb", 10, 1, 1000);
    total = (uint64_t)mb << 20;
    struct wire_faults f = faults;
    wire_set_faults(ids[0], &f);
    diag("%u MB each way, loss %u%% corrupt %u%% dup %u%% reorder %u%%", mb, f.loss_pct,
         f.corrupt_pct, f.dup_pct, f.reorder_pct);
    ebb_timer_cancel(&deadline);
    ok(tcp_listen(nb, 5001, on_accept, NULL) != NULL, "listen");
    t_start = ebb_now_ns();
    ebb_timer_start(&deadline, (uint64_t)ebb_config_int("timeout", 120, 1, 3600) * 1000000000ull,
                    timeout, NULL);
    ebb_future_drop(ebb_future_then_full(tcp_connect(na, IP4(10, 0, 0, 2), 5001, &handlers, &ea),
                                         connected, NULL));
}

void app_main(void)
{
    faults = (struct wire_faults){
        .loss_pct = (unsigned)ebb_config_int("loss", 10, 0, 90),
        .corrupt_pct = (unsigned)ebb_config_int("corrupt", 10, 0, 90),
        .dup_pct = (unsigned)ebb_config_int("dup", 10, 0, 90),
        .reorder_pct = (unsigned)ebb_config_int("reorder", 10, 0, 90),
        .reorder_delay_us = 300,
        .seed = 12345,
        .tx_csum = true, /* UDP and TCP send partial checksums, which the wire completes */
    };
    tap_plan(23 + (faults.loss_pct ? 2 : 0) + !!faults.corrupt_pct +
             !!(faults.dup_pct || faults.reorder_pct));
    /* The transfer's own deadline fails the test; this one catches a hung event loop. */
    tap_deadline((unsigned)ebb_config_int("timeout", 120, 1, 3600) + 30);
    unsigned cores[2] = {0, ebb_ncores() > 1 ? 1 : 0};
    struct wire_faults clean = {.tx_csum = true};
    ok(wire_create(&clean, cores, ids) == 0, "wire created");
    struct net_stack_config ca = {.ip = IP4(10, 0, 0, 1), .prefix = 24, .rto_min_ms = 5,
                                  .time_wait_ms = 100, .home_core = cores[0]};
    struct net_stack_config cb = {.ip = IP4(10, 0, 0, 2), .prefix = 24, .rto_min_ms = 5,
                                  .time_wait_ms = 100, .home_core = cores[1]};
    sa = net_stack_new(ids[0], &ca);
    sb = net_stack_new(ids[1], &cb);
    uint64_t v;
    ok(ebb_future_block(net_stack_up(sa), &v) == 0 && (struct net *)(uintptr_t)v == net_stack_net(sa),
       "static address: stack is up at once");
    ebb_future_block(net_stack_up(sb), &v);
    na = net_stack_net(sa);
    nb = net_stack_net(sb);
    ok(net_addr(na) == IP4(10, 0, 0, 1), "address as configured");
    ok(udp_bind(nb, 7007, udp_echo, NULL) != NULL, "UDP bind");
    errno = 0;
    ok(udp_bind(nb, 7007, udp_echo, NULL) == NULL && errno == EADDRINUSE, "UDP port taken twice");
    ua = udp_bind(na, 0, udp_reply, NULL);
    ok(ua && udp_port(ua) >= 49152, "UDP ephemeral port");
    struct iobuf *b = iobuf_alloc(64, 64);
    iobuf_append(b, 0);
    b = iobuf_chain_append(b, iobuf_wrap_static("ping", 4));
    ok(udp_send(ua, IP4(10, 0, 0, 2), 7007, b) == 0, "UDP send (ARP first)");
    ebb_timer_start(&deadline, 5000000000ull, timeout, NULL);
}
