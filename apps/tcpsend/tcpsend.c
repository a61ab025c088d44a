/* tcpsend: the stack as a TCP client. Connects to host=A.B.C.D port=P (an echo server), sends
 * bytes=N of a known pattern and checks that exactly the same bytes come back before the peer
 * closes. Exits 0 when they did, 1 otherwise (or after timeout= seconds, default 60). Network
 * keys as for echo. */
#include <inttypes.h>
#include <stdio.h>
#include "core/config.h"
#include "core/event.h"
#include "net/net.h"
#include "net/stack.h"

static struct net_stack *stack;

/* The stack's counters as a comment line (for tests), then exit. */
static void finish(int code)
{
    if (stack) {
        char buf[2048];
        net_stack_format_stats(stack, buf, sizeof buf);
        printf("# stats: %s\n", buf);
    }
    fflush(stdout);
    ebb_exit(code);
}

static uint64_t total, sent, rcvd;
static bool bad;
static struct ebb_timer deadline;
static uint64_t t0;

static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 131) ^ (i >> 9) ^ (i >> 17)); }

static void pump(struct tcp_conn *c)
{
    /* Keep a bounded amount queued: the helper buffers, the pattern is made as the window opens. */
    while (sent < total && tcp_buffered(c) < (256u << 10)) {
        uint64_t n = total - sent < 65536 ? total - sent : 65536;
        struct iobuf *b = iobuf_alloc(n, 0);
        uint8_t *p = iobuf_append(b, n);
        for (uint64_t i = 0; i < n; i++)
            p[i] = pattern(sent + i);
        sent += n;
        tcp_send_buffered(c, b);
    }
    if (sent == total)
        tcp_close(c);
}

static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
    (void)arg;
    (void)c;
    struct iobuf_cursor cur;
    iobuf_cursor_init(&cur, data);
    size_t n = iobuf_cursor_remaining(&cur);
    for (size_t i = 0; i < n && !bad; i++)
        if (iobuf_cursor_u8(&cur) != pattern(rcvd + i)) {
            printf("tcpsend: byte %" PRIu64 " differs\n", rcvd + i);
            bad = true;
        }
    rcvd += n;
    iobuf_free(data);
}

static void on_window(void *arg, struct tcp_conn *c)
{
    (void)arg;
    pump(c);
}

static void on_closed(void *arg, struct tcp_conn *c)
{
    (void)arg;
    (void)c;
    double secs = (double)(ebb_now_ns() - t0) / 1e9;
    bool good = !bad && rcvd == total && sent == total;
    printf("tcpsend: sent %" PRIu64 ", got back %" PRIu64 " bytes%s in %.2f s\n", sent, rcvd,
           good ? ", intact" : bad ? ", CORRUPTED" : ", SHORT", secs);
    finish(good ? 0 : 1);
}

static void on_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)arg;
    (void)c;
    printf("tcpsend: connection aborted (error %d) after %" PRIu64 " bytes back\n", err, rcvd);
    finish(1);
}

static const struct tcp_handlers handlers = {
    .receive = on_receive, .closed = on_closed, .aborted = on_aborted, .window_opened = on_window,
};

static ebb_future_t connected(void *arg, int err, uint64_t v)
{
    (void)arg;
    if (err) {
        printf("tcpsend: connect failed (error %d)\n", err);
        finish(1);
        return ebb_future_ready(0);
    }
    t0 = ebb_now_ns();
    pump((struct tcp_conn *)(uintptr_t)v);
    return ebb_future_ready(0);
}

static void timeout(void *arg)
{
    (void)arg;
    printf("tcpsend: timed out with %" PRIu64 "/%" PRIu64 " bytes back\n", rcvd, total);
    finish(1);
}

static ebb_future_t up(void *arg, int err, uint64_t v)
{
    (void)arg;
    ip4_t host;
    if (err || ip4_parse(ebb_config_str("host", ""), &host)) {
        fprintf(stderr, "tcpsend: %s\n", err ? "no network" : "host=A.B.C.D is needed");
        ebb_exit(2);
        return ebb_future_ready(0);
    }
    total = (uint64_t)ebb_config_int("bytes", 1 << 20, 0, 1l << 40);
    uint16_t port = (uint16_t)ebb_config_int("port", 7, 1, 65535);
    stack = net_stack_of((struct net *)(uintptr_t)v);
    return ebb_future_then_full(tcp_connect((struct net *)(uintptr_t)v, host, port, &handlers, NULL),
                                connected, NULL);
}

void app_main(void)
{
    ebb_timer_start(&deadline, (uint64_t)ebb_config_int("timeout", 60, 1, 86400) * 1000000000ull,
                    timeout, NULL);
    ebb_future_drop(ebb_future_then_full(net_start_from_config(), up, NULL));
}
