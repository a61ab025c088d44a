/* TCP state machine cases over a clean in-memory wire, one after another: refused connect,
 * half-close with data flowing after our FIN, abort (RST) seen by the peer, simultaneous close,
 * the send window contract, and a closed listener. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "core/event.h"
#include "net/stack.h"
#include "net/wire.h"
#include "tests/tap.h"

static struct net *na, *nb;
static struct ebb_timer deadline;

struct side {
    struct tcp_conn *c;
    char got[256];
    size_t ngot;
    int closed, aborted, abort_err, connected;
};
static struct side cli, srv;

static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *d)
{
    (void)c;
    struct side *s = arg;
    s->ngot += iobuf_copy_out(d, 0, s->got + s->ngot, sizeof s->got - 1 - s->ngot);
    iobuf_free(d);
}
static void on_closed(void *arg, struct tcp_conn *c) { (void)c; ((struct side *)arg)->closed++; }
static void on_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)c;
    struct side *s = arg;
    s->aborted++;
    s->abort_err = err;
}
static const struct tcp_handlers handlers = {
    .receive = on_receive, .closed = on_closed, .aborted = on_aborted,
};

static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    memset(&srv, 0, sizeof srv);
    srv.c = c;
    tcp_set_handlers(c, &handlers, &srv);
}

static int send_str(struct tcp_conn *c, const char *s)
{
    struct iobuf *b = iobuf_alloc(strlen(s), 0);
    memcpy(iobuf_append(b, strlen(s)), s, strlen(s));
    int err = tcp_send(c, b);
    if (err)
        iobuf_free(b);
    return err;
}

/* Runs fn after ms milliseconds (the wire is immediate; a few ms let exchanges settle). */
static struct ebb_timer step_timer;
static void after(unsigned ms, ebb_fn fn) { ebb_timer_start(&step_timer, ms * 1000000ull, fn, NULL); }

static struct tcp_conn *connect_block(struct net *n, uint16_t port, int *err)
{
    memset(&cli, 0, sizeof cli);
    uint64_t v = 0;
    *err = ebb_future_block(tcp_connect(n, IP4(10, 0, 1, 2), port, &handlers, &cli), &v);
    cli.c = (struct tcp_conn *)(uintptr_t)v;
    return cli.c;
}

static void finish(void *arg)
{
    (void)arg;
    ebb_timer_cancel(&deadline);
    ebb_exit(tap_done());
}

static void timed_out(void *arg)
{
    (void)arg;
    ok(0, "the cases finished within 30 s");
    ebb_exit(tap_done());
}

static struct tcp_listener *lis;

static void case_listener_closed(void *arg)
{
    (void)arg;
    ok(srv.closed == 1 && cli.closed == 1, "simultaneous close: both saw the other's FIN");
    tcp_listener_close(lis);
    int err;
    connect_block(na, 80, &err);
    is(err, ECONNREFUSED, "after the listener closed, a connect is refused");
    after(300, finish); /* TIME_WAITs end, deferred frees run */
}

/* Both ends close in the same instant: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both. */
static void close_both(void *arg)
{
    (void)arg;
    tcp_close(cli.c);
    tcp_close(srv.c);
    after(50, case_listener_closed);
}

static void case_simultaneous_close(void *arg)
{
    (void)arg;
    ok(cli.aborted == 1 && cli.abort_err == ECONNRESET, "the peer's abort arrives as aborted(ECONNRESET)");
    int err;
    connect_block(na, 80, &err);
    ok(err == 0, "connect again");
    after(10, close_both);
}

static void do_abort(void *arg)
{
    (void)arg;
    tcp_abort(srv.c);
    after(20, case_simultaneous_close);
}

static void case_abort(void *arg)
{
    (void)arg;
    ok(strcmp(cli.got, "reply after your FIN") == 0, "half-close: data still arrives after our FIN");
    ok(cli.closed == 1 && srv.closed == 1, "both sides saw a FIN");
    int err;
    connect_block(na, 80, &err);
    ok(err == 0, "connect again");
    /* The window contract: more than the window is refused and not taken. */
    size_t w = tcp_send_window(cli.c);
    ok(w > 0, "a fresh connection offers a send window (%zu bytes)", w);
    struct iobuf *big = iobuf_alloc(w + 1, 0);
    iobuf_append(big, w + 1);
    is(tcp_send(cli.c, big), -EMSGSIZE, "tcp_send past the window: -EMSGSIZE");
    is(iobuf_chain_len(big), w + 1, "and the data is left with the caller");
    iobuf_free(big);
    after(10, do_abort);
}

static void case_half_close_reply(void *arg)
{
    (void)arg;
    ok(strcmp(srv.got, "request") == 0 && srv.closed == 1, "server got the request, then the FIN");
    ok(send_str(srv.c, "reply after your FIN") == 0, "server replies on its half");
    tcp_close(srv.c);
    after(20, case_abort);
}

void app_main(void)
{
    tap_plan(20);
    tap_deadline(90); /* the test's own deadline (30 s) runs on the event loop: this one does not */
    unsigned cores[2] = {0, 0};
    struct wire_faults clean = {0};
    ebb_id_t ids[2];
    ok(wire_create(&clean, cores, ids) == 0, "wire");
    struct net_stack_config ca = {.ip = IP4(10, 0, 1, 1), .prefix = 24, .time_wait_ms = 100};
    struct net_stack_config cb = {.ip = IP4(10, 0, 1, 2), .prefix = 24, .time_wait_ms = 100};
    na = net_stack_net(net_stack_new(ids[0], &ca));
    nb = net_stack_net(net_stack_new(ids[1], &cb));
    int err;
    connect_block(na, 80, &err);
    is(err, ECONNREFUSED, "connect to a port nobody listens on: ECONNREFUSED");
    lis = tcp_listen(nb, 80, on_accept, NULL);
    ok(lis != NULL, "listen");
    errno = 0;
    ok(tcp_listen(nb, 80, on_accept, NULL) == NULL && errno == EADDRINUSE, "listen twice: EADDRINUSE");
    struct tcp_conn *c = connect_block(na, 80, &err);
    ok(err == 0 && c, "connect");
    ip4_t lip, rip;
    uint16_t lport, rport;
    tcp_addrs(c, &lip, &lport, &rip, &rport);
    ok(lip == IP4(10, 0, 1, 1) && rip == IP4(10, 0, 1, 2) && rport == 80 && lport >= 49152,
       "addresses of the connection");
    ok(send_str(c, "request") == 0, "client sends a request");
    tcp_close(c); /* half-close: FIN after the request */
    ok(send_str(c, "more") == -EPIPE, "sending after tcp_close: -EPIPE");
    ebb_timer_start(&deadline, 30000000000ull, timed_out, NULL);
    after(20, case_half_close_reply);
}
