/* TCP state machine cases over a clean in-memory wire, one after another: refused connect,
 * half-close with data flowing after our FIN, abort (RST) seen by the peer, simultaneous close,
 * the send window contract, a closed listener; then, over a wire that loses everything, giving
 * up with ETIMEDOUT on data and on a SYN, the RTO backing off. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "core/event.h"
#include "core/rcu.h"
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

static int accepts;
static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    accepts++;
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

/* Runs fn once cond() holds, checked every millisecond (a loaded machine delays the wire's
 * core); after 10 s fn runs anyway and its assertions say what did not happen. */
static struct ebb_timer step_timer;
static int (*step_cond)(void);
static ebb_fn step_fn;
static uint64_t step_give_up;
static void step_poll(void *arg)
{
    (void)arg;
    if (step_cond() || ebb_now_ns() > step_give_up)
        step_fn(NULL);
    else
        ebb_timer_start(&step_timer, 1000000ull, step_poll, NULL);
}
static void when(int (*cond)(void), ebb_fn fn)
{
    step_cond = cond;
    step_fn = fn;
    step_give_up = ebb_now_ns() + 10000000000ull;
    ebb_timer_start(&step_timer, 0, step_poll, NULL);
}
static int accepted;
static int got_accept(void) { return accepts > accepted; }
static int srv_got_request(void) { return srv.closed && strcmp(srv.got, "request") == 0; }
static int both_closed(void) { return cli.closed && srv.closed; }
static int reply_and_fins(void) { return both_closed() && strcmp(cli.got, "reply after your FIN") == 0; }
static int cli_aborted(void) { return cli.aborted; }

static struct tcp_conn *connect_block(struct net *n, uint16_t port, int *err)
{
    memset(&cli, 0, sizeof cli);
    accepted = accepts; /* got_accept() waits for the server's side of this one */
    uint64_t v = 0;
    *err = ebb_future_block(tcp_connect(n, IP4(10, 0, 1, 2), port, &handlers, &cli), &v);
    cli.c = (struct tcp_conn *)(uintptr_t)v;
    return cli.c;
}

static void exit_now(void *arg)
{
    (void)arg;
    ebb_exit(tap_done());
}
/* Frees the stack deferred before this (connections whose TIME_WAIT ended, on a loaded machine
 * in the same batch of timers) complete first: their grace periods started earlier. */
static void finish(void *arg)
{
    (void)arg;
    ebb_timer_cancel(&deadline);
    ebb_rcu_defer(exit_now, NULL);
}

static void timed_out(void *arg)
{
    (void)arg;
    ok(0, "the cases finished within 30 s");
    ebb_exit(tap_done());
}

static struct tcp_listener *lis;

/* Giving up, on a second pair of stacks with short timers (RTO from 10 ms, doubling up to 80 ms)
 * over a wire that then loses everything: unacknowledged data aborts the connection with
 * ETIMEDOUT after 12 retransmissions, a SYN fails the connect after 6. */
#define RTO_INIT 10
#define RTO_MAX 80
static ebb_id_t quick[2];
static struct net_stack *qa, *qb;
static struct net_stats before;
static struct tcp_listener *qlis;

static void lose_everything(bool on)
{
    struct wire_faults f = {.loss_pct = on ? 100 : 0};
    wire_set_faults(quick[0], &f);
}

static void case_syn_timeout(void *arg)
{
    (void)arg;
    ok(cli.aborted && cli.abort_err == ETIMEDOUT, "unacknowledged data: aborted(ETIMEDOUT) (error %d)",
       cli.abort_err);
    struct net_stats st;
    net_stack_stats(qa, &st);
    is(st.tcp_timeouts - before.tcp_timeouts, 13, "after 12 retransmissions: 13 RTO expiries");
    ok(st.tcp_retransmits - before.tcp_retransmits >= 12, "each expiry resent the data (%llu)",
       (unsigned long long)(st.tcp_retransmits - before.tcp_retransmits));
    tcp_abort(srv.c);

    before = st;
    memset(&cli, 0, sizeof cli);
    uint64_t t0 = ebb_now_ns();
    int err = ebb_future_block(tcp_connect(net_stack_net(qa), IP4(10, 0, 2, 2), 81, &handlers, &cli), NULL);
    uint64_t ms = (ebb_now_ns() - t0) / 1000000;
    net_stack_stats(qa, &st);
    is(err, ETIMEDOUT, "a connect whose SYNs are all lost fails with ETIMEDOUT");
    is(st.tcp_timeouts - before.tcp_timeouts, 7, "after the SYN and 6 retransmissions: 7 RTO expiries");
    /* A lower bound only (a loaded machine is late, never early): without the doubling it
     * would be 7 x 10 ms. */
    ok(ms >= 10 + 20 + 40 + 80 * 4, "the RTO doubled up to its ceiling (%llu ms, at least 390)",
       (unsigned long long)ms);
    lose_everything(false);
    tcp_listener_close(qlis);
    /* TIME_WAITs (100 ms) end and deferred frees run, so the sanitizer sees no leak. */
    ebb_timer_start(&step_timer, 300000000ull, finish, NULL);
}

static void case_data_timeout(void)
{
    unsigned cores[2] = {0, 0};
    struct wire_faults clean = {0};
    ok(wire_create(&clean, cores, quick) == 0, "a second wire");
    struct net_stack_config c = {.ip = IP4(10, 0, 2, 1), .prefix = 24, .time_wait_ms = 100,
                                 .rto_min_ms = 5, .rto_init_ms = RTO_INIT, .rto_max_ms = RTO_MAX};
    qa = net_stack_new(quick[0], &c);
    c.ip = IP4(10, 0, 2, 2);
    qb = net_stack_new(quick[1], &c);
    qlis = tcp_listen(net_stack_net(qb), 80, on_accept, NULL);
    memset(&cli, 0, sizeof cli);
    uint64_t v = 0;
    int err = ebb_future_block(tcp_connect(net_stack_net(qa), IP4(10, 0, 2, 2), 80, &handlers, &cli), &v);
    cli.c = (struct tcp_conn *)(uintptr_t)v;
    ok(err == 0 && qlis, "connect on the second wire");
    net_stack_stats(qa, &before);
    lose_everything(true);
    send_str(cli.c, "never acknowledged");
    when(cli_aborted, case_syn_timeout);
}

static void case_listener_closed(void *arg)
{
    (void)arg;
    ok(srv.closed == 1 && cli.closed == 1, "simultaneous close: both saw the other's FIN");
    tcp_listener_close(lis);
    int err;
    connect_block(na, 80, &err);
    is(err, ECONNREFUSED, "after the listener closed, a connect is refused");
    case_data_timeout();
}

/* Both ends close in the same instant: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both. */
static void close_both(void *arg)
{
    (void)arg;
    tcp_close(cli.c);
    tcp_close(srv.c);
    when(both_closed, case_listener_closed);
}

static void case_simultaneous_close(void *arg)
{
    (void)arg;
    ok(cli.aborted == 1 && cli.abort_err == ECONNRESET, "the peer's abort arrives as aborted(ECONNRESET)");
    int err;
    connect_block(na, 80, &err);
    ok(err == 0, "connect again");
    when(got_accept, close_both);
}

static void do_abort(void *arg)
{
    (void)arg;
    tcp_abort(srv.c);
    when(cli_aborted, case_simultaneous_close);
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
    when(got_accept, do_abort);
}

static void case_half_close_reply(void *arg)
{
    (void)arg;
    ok(strcmp(srv.got, "request") == 0 && srv.closed == 1, "server got the request, then the FIN");
    ok(send_str(srv.c, "reply after your FIN") == 0, "server replies on its half");
    tcp_close(srv.c);
    when(reply_and_fins, case_abort);
}

void app_main(void)
{
    tap_plan(28);
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
    when(srv_got_request, case_half_close_reply);
}
