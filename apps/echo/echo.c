/* echo: TCP and UDP echo on port= (default 7), over the network the configuration names
 * (netif=tap:NAME ip=A.B.C.D/N gw=G, netif=tap:NAME for DHCP, or netif=linux). Prints
 * "echo: ready on A.B.C.D port P" once it serves. */
#include <errno.h>
#include <stdio.h>
#include "core/config.h"
#include "core/event.h"
#include "net/net.h"
#include "net/stack.h"

static struct net_stack *stack;
static struct ebb_timer stats_timer;

/* stats=S: print the stack's counters every S seconds (to stderr). */
static void print_stats(void *arg)
{
    (void)arg;
    net_stack_print_stats(stack, "echo");
    ebb_timer_start(&stats_timer, (uint64_t)ebb_config_int("stats", 0, 0, 3600) * 1000000000ull,
                    print_stats, NULL);
}

static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
    (void)arg;
    /* The received buffers go back out as they are; a peer that sends but does not read
     * past sendq_max= loses its connection rather than growing this process. */
    if (tcp_send_buffered(c, data) == -ENOBUFS)
        tcp_abort(c);
}

static void on_closed(void *arg, struct tcp_conn *c)
{
    (void)arg;
    tcp_close(c);
}

static const struct tcp_handlers echo_handlers = {.receive = on_receive, .closed = on_closed};

static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    tcp_set_handlers(c, &echo_handlers, NULL);
    tcp_set_send_limit(c, (size_t)ebb_config_int("sendq_max", 32 << 20, 1, 1l << 32));
}

static void on_datagram(void *arg, struct udp_sock *s, ip4_t src, uint16_t sport, struct iobuf *d)
{
    (void)arg;
    udp_send(s, src, sport, d);
}

static ebb_future_t up(void *arg, int err, uint64_t v)
{
    (void)arg;
    if (err) {
        fprintf(stderr, "echo: no network (error %d)\n", err);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    struct net *n = (struct net *)(uintptr_t)v;
    uint16_t port = (uint16_t)ebb_config_int("port", 7, 1, 65535);
    if (!tcp_listen(n, port, on_accept, NULL) || !udp_bind(n, port, on_datagram, NULL)) {
        fprintf(stderr, "echo: port %u is taken\n", port);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    stack = net_stack_of(n);
    if (stack && ebb_config_int("stats", 0, 0, 3600))
        print_stats(NULL);
    char ip[16];
    printf("echo: ready on %s port %u\n", ip4_format(net_addr(n), ip), port);
    fflush(stdout);
    return ebb_future_ready(0);
}

void app_main(void)
{
    ebb_future_drop(ebb_future_then_full(net_start_from_config(), up, NULL));
}
