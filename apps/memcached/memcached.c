/* memcached: a memcached-compatible server (ASCII and binary protocols) on this runtime. One
 * source for both platforms: hosted over Linux sockets (netif=linux, loopback unless ip= says
 * otherwise) or our stack over a tap, natively over virtio-net.
 *
 * Connections are spread over the cores as they are accepted and stay there; each core parses
 * and answers its own connections' requests against the shared store (store.c), whose reads take
 * no lock. All replies to what one receive brought are sent as one chain, in request order.
 *
 * Arguments: port=11211 memory=64 (MiB held by items) item_max=1048576 evict=1 verbosity=0
 * cores=N, and the network's (README). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef EBB_HOSTED
#include <sys/resource.h>
#include <unistd.h>
#endif
#include "apps/memcached/mc.h"
#include "core/config.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/rcu.h"
#include "net/net.h"

#define MAX_CORES 256
#define OUT_BATCH (1u << 20)     /* replies built before they are handed to TCP */
#define OUT_MAX (4u << 20)       /* unsent replies at which a connection stops being served */
#define IN_PAUSED_MAX (2u << 20) /* beyond item_max: input held while paused, then we drop it */
#define DEFER_BATCH 64

struct mc_settings mc_settings;

struct conn {
    struct tcp_conn *tc;
    struct iobuf *in;
    size_t in_len;
    struct mc_session s;
    bool paused, closing, peer_closed;
};

struct percore {
    struct mc_counters c;
    struct { void (*fn)(void *); void *arg; } defer[DEFER_BATCH];
    unsigned ndefer;
    struct ebb_timer defer_timer;
} __attribute__((aligned(64)));
static struct percore pc[MAX_CORES];
static unsigned next_core;
static struct ebb_timer reclaim_timer;

unsigned mc_core(void) { return ebb_core(); }
unsigned mc_ncores(void) { return ebb_ncores(); }
struct mc_counters *mc_counters_here(void) { return &pc[ebb_core()].c; }

uint64_t mc_mono_ns(void) { return ebb_now_ns(); }

int64_t mc_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

void mc_process_stats(mc_stat_fn fn, void *arg)
{
#ifdef EBB_HOSTED
    char b[32];
    struct rusage ru;
    snprintf(b, sizeof b, "%ld", (long)getpid());
    fn(arg, "pid", b);
    getrusage(RUSAGE_SELF, &ru);
    snprintf(b, sizeof b, "%ld.%06ld", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
    fn(arg, "rusage_user", b);
    snprintf(b, sizeof b, "%ld.%06ld", (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
    fn(arg, "rusage_system", b);
#else
    (void)fn, (void)arg; /* one image, no process: nothing to report */
#endif
}

void mc_counters_sum(struct mc_counters *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < ebb_ncores() && i < MAX_CORES; i++) {
#define X(n) out->n += __atomic_load_n(&pc[i].c.n, __ATOMIC_RELAXED);
        MC_COUNTERS(X)
#undef X
    }
}

void mc_stats_reset(void)
{
    /* Racy against the cores counting, like memcached's: a reset is approximate. */
    for (unsigned i = 0; i < ebb_ncores() && i < MAX_CORES; i++) {
        uint64_t cur = pc[i].c.curr_connections;
        memset(&pc[i].c, 0, sizeof pc[i].c);
        pc[i].c.curr_connections = cur;
    }
}

/* Frees go through one grace period per batch rather than one per item. */
struct defer_batch {
    unsigned n;
    struct { void (*fn)(void *); void *arg; } e[DEFER_BATCH];
};

static void run_batch(void *arg)
{
    struct defer_batch *b = arg;
    for (unsigned i = 0; i < b->n; i++)
        b->e[i].fn(b->e[i].arg);
    free(b);
}

static void defer_flush(void *arg)
{
    (void)arg;
    struct percore *p = &pc[ebb_core()];
    if (!p->ndefer)
        return;
    struct defer_batch *b = malloc(sizeof *b);
    if (!b) {
        ebb_timer_start(&p->defer_timer, 1000000, defer_flush, NULL);
        return;
    }
    b->n = p->ndefer;
    memcpy(b->e, p->defer, sizeof p->defer);
    p->ndefer = 0;
    ebb_timer_cancel(&p->defer_timer);
    ebb_rcu_defer(run_batch, b);
}

void mc_defer(void (*fn)(void *), void *arg)
{
    struct percore *p = &pc[ebb_core()];
    if (p->ndefer == DEFER_BATCH)
        defer_flush(NULL);
    if (p->ndefer == DEFER_BATCH) { /* no memory for a batch: wait for a full grace period */
        ebb_rcu_defer(fn, arg);
        return;
    }
    p->defer[p->ndefer].fn = fn;
    p->defer[p->ndefer++].arg = arg;
    if (!ebb_timer_armed(&p->defer_timer))
        ebb_timer_start(&p->defer_timer, 1000000, defer_flush, NULL);
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
    iobuf_free(c->in);
    mc_counters_here()->curr_connections--;
    free(c);
}

static void serve(struct conn *c)
{
    struct mc_out o = {0};
    while (c->in && !c->s.close) {
        if (tcp_buffered(c->tc) > OUT_MAX) {
            c->paused = true; /* a client that does not read: wait for window_opened */
            break;
        }
        size_t before = iobuf_chain_len(c->in);
        mc_process(&c->s, &c->in, &o, OUT_BATCH);
        c->in_len = c->in ? iobuf_chain_len(c->in) : 0;
        if (o.chain) {
            mc_counters_here()->bytes_written += o.len;
            tcp_send_buffered(c->tc, mc_out_take(&o));
        }
        if (c->in_len == before)
            break; /* waiting for more input */
    }
    if (c->s.close && !c->closing) {
        c->closing = true;
        iobuf_free(c->in);
        c->in = NULL;
        tcp_close(c->tc);
        if (c->peer_closed)
            conn_free(c);
    }
}

static void on_receive(void *arg, struct tcp_conn *tc, struct iobuf *data)
{
    (void)tc;
    struct conn *c = arg;
    size_t n = iobuf_chain_len(data);
    mc_counters_here()->bytes_read += n;
    if (c->closing) {
        iobuf_free(data);
        return;
    }
    c->in = iobuf_chain_append(c->in, data);
    c->in_len += n;
    if (c->paused) {
        if (c->in_len > mc_settings.item_max + IN_PAUSED_MAX) {
            /* It neither reads our replies nor stops sending: drop it. */
            mc_counters_here()->conn_output_overflow++;
            c->closing = true;
            tcp_abort(c->tc);
            conn_free(c);
        }
        return;
    }
    serve(c);
}

static void on_window(void *arg, struct tcp_conn *tc)
{
    (void)tc;
    struct conn *c = arg;
    if (c->paused && !c->closing) {
        c->paused = false;
        serve(c);
    }
}

static void on_closed(void *arg, struct tcp_conn *tc)
{
    struct conn *c = arg;
    c->peer_closed = true;
    if (c->closing) {
        conn_free(c);
        return;
    }
    c->closing = true;
    tcp_close(tc);
    conn_free(c);
}

static void on_aborted(void *arg, struct tcp_conn *tc, int err)
{
    (void)tc;
    (void)err;
    conn_free(arg);
}

static const struct tcp_handlers conn_handlers = {
    .receive = on_receive, .closed = on_closed, .aborted = on_aborted, .window_opened = on_window,
};

static void on_accept(void *arg, struct tcp_conn *tc)
{
    (void)arg;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        tcp_abort(tc);
        return;
    }
    c->tc = tc;
    mc_counters_here()->total_connections++;
    mc_counters_here()->curr_connections++;
    tcp_set_handlers(tc, &conn_handlers, c);
    unsigned core = next_core++ % ebb_ncores();
    tcp_bind_core(tc, core);
}

/* ---- start ---- */

/* The whole table every 30 s or so (expiry is also caught by lookups). */
static void reclaim_tick(void *arg)
{
    (void)arg;
    struct mc_store_stats st;
    mc_store_stats(&st);
    if (st.curr_items)
        mc_reclaim_some((unsigned)(st.hash_buckets / 300) + 16);
    ebb_timer_start(&reclaim_timer, 100000000, reclaim_tick, NULL);
}

static ebb_future_t up(void *arg, int err, uint64_t v)
{
    (void)arg;
    if (err) {
        fprintf(stderr, "memcached: no network (error %d)\n", err);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    struct net *n = (struct net *)(uintptr_t)v;
    if (!tcp_listen(n, (uint16_t)mc_settings.port, on_accept, NULL)) {
        fprintf(stderr, "memcached: cannot listen on port %u (%s)\n", mc_settings.port,
                strerror(errno));
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    reclaim_tick(NULL);
    char ip[16];
    printf("memcached: ready on %s port %u, %u cores, memory %zu MiB\n", ip4_format(net_addr(n), ip),
           mc_settings.port, mc_settings.cores, mc_settings.mem_limit >> 20);
    fflush(stdout);
    return ebb_future_ready(0);
}

void app_main(void)
{
    mc_settings.port = (unsigned)ebb_config_int("port", 11211, 1, 65535);
    mc_settings.mem_limit = (size_t)ebb_config_int("memory", 64, 1, 1 << 20) << 20;
    mc_settings.item_max = (size_t)ebb_config_int("item_max", 1 << 20, 1024, 128 << 20);
    mc_settings.evictions = ebb_config_int("evict", 1, 0, 1);
    mc_settings.verbosity = (unsigned)ebb_config_int("verbosity", 0, 0, 10);
    mc_settings.cores = ebb_ncores();
    if (mc_store_init(mc_settings.mem_limit)) {
        fprintf(stderr, "memcached: no memory for the hash table\n");
        ebb_exit(1);
        return;
    }
    ebb_future_drop(ebb_future_then_full(net_start_from_config(), up, NULL));
}
