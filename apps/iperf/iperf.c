/* iperf: a TCP server that Debian's iperf (iperf2) client drives (`iperf -c HOST -p PORT`): it
 * takes the data and drops it, and prints each connection's bytes and rate when it closes.
 * port= (default 5001) and the network keys of echo. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/config.h"
#include "core/event.h"
#include "net/net.h"

struct sink {
    uint64_t bytes, start_ns;
};

static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
    (void)c;
    struct sink *s = arg;
    s->bytes += iobuf_chain_len(data);
    iobuf_free(data);
}

static void on_closed(void *arg, struct tcp_conn *c)
{
    struct sink *s = arg;
    double secs = (double)(ebb_now_ns() - s->start_ns) / 1e9;
    printf("iperf: %" PRIu64 " bytes in %.2f s = %.1f Mbit/s\n", s->bytes, secs,
           secs > 0 ? (double)s->bytes * 8 / secs / 1e6 : 0.0);
    fflush(stdout);
    tcp_close(c);
    free(s);
}

static void on_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)c;
    printf("iperf: connection aborted (error %d)\n", err);
    free(arg);
}

static const struct tcp_handlers sink_handlers = {
    .receive = on_receive, .closed = on_closed, .aborted = on_aborted,
};

static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    struct sink *s = calloc(1, sizeof *s);
    if (!s) {
        tcp_abort(c);
        return;
    }
    s->start_ns = ebb_now_ns();
    tcp_set_handlers(c, &sink_handlers, s);
}

static ebb_future_t up(void *arg, int err, uint64_t v)
{
    (void)arg;
    if (err) {
        fprintf(stderr, "iperf: no network (error %d)\n", err);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    struct net *n = (struct net *)(uintptr_t)v;
    uint16_t port = (uint16_t)ebb_config_int("port", 5001, 1, 65535);
    if (!tcp_listen(n, port, on_accept, NULL)) {
        fprintf(stderr, "iperf: port %u is taken\n", port);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    char ip[16];
    printf("iperf: ready on %s port %u\n", ip4_format(net_addr(n), ip), port);
    fflush(stdout);
    return ebb_future_ready(0);
}

void app_main(void)
{
    ebb_future_drop(ebb_future_then_full(net_start_from_config(), up, NULL));
}
