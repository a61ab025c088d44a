/* Costs of remote Ebb calls (tests/gen/sample.ebb.h through ebbgen's stubs and dispatcher).
 *   msgbench cost N      loop_* functions for callgrind (read inclusive, divided by N):
 *                        marshalling by the client stub (a stand-in Messenger Ebb, bound to
 *                        EBB_ID_MESSENGER, takes the frame), the server's dispatch, a whole call
 *                        to this node through the real Messenger, and baselines: a local Ebb call
 *                        and a malloc+memcpy+free of the same payload.
 *   msgbench rtt N SIZE  round trip of a remote call with a SIZE-byte buffer between two hosted
 *                        processes on loopback, and of a plain TCP ping-pong (blocking sockets,
 *                        TCP_NODELAY) moving the same bytes each way, in the same run. */
#define _GNU_SOURCE
#include "core/ebb.h"
#include "core/event.h"
#include "core/messenger.h"
#include "ebb_hosted.h"
#include "tests/sample_rep.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_ID EBB_ID(0, 250)
static long n;
static size_t size;
static ebb_id_t id = SAMPLE_ID;
static uint8_t key[64];

/* ---- instruction counts ---- */

/* A Messenger that takes the frame and answers at once: isolates the stub's marshalling. */
struct fake { const struct messenger *ops; };
static ebb_future_t f_call(void *self, unsigned node, ebb_id_t to, uint64_t iface, unsigned method,
                           struct iobuf *args, ebb_msg_unpack_fn unpack, void *arg)
{
    (void)self, (void)node, (void)to, (void)iface, (void)method;
    iobuf_free(args);
    uint64_t v = 0;
    if (unpack)
        unpack(arg, ECONNRESET, NULL, 0, &v);
    return ebb_future_ready(0);
}
static int f_listen(void *s, const char *a, uint16_t p) { (void)s, (void)a, (void)p; return 0; }
static int32_t f_peer(void *s, uint32_t n_, const char *a, uint16_t p) { (void)s, (void)n_, (void)a, (void)p; return 0; }
static void f_stop(void *s) { (void)s; }
static const struct messenger fake_ops = { .call = f_call, .listen = f_listen, .peer = f_peer,
                                           .stop = f_stop };
static struct fake the_fake = { &fake_ops };
static void *make_fake(struct ebb_root *r, unsigned c) { (void)r, (void)c; return &the_fake; }
MESSENGER_ROOT(fake_root, make_fake);

/* The stubs call through EBB_ID_MESSENGER, which main() bound to the stand-in. */
__attribute__((noinline)) void loop_stub_add(void)
{
    for (long i = 0; i < n; i++)
        ebb_future_drop(sample_add_at(1, id, (uint64_t)i, 3, false));
}
__attribute__((noinline)) void loop_stub_put64(void)
{
    for (long i = 0; i < n; i++)
        ebb_future_drop(sample_put_at(1, id, key, sizeof key, NULL, 0));
}
static uint8_t add_args[16], put_args[80];
__attribute__((noinline)) void loop_dispatch_add(void)
{
    for (long i = 0; i < n; i++) {
        struct iobuf *r;
        sample_dispatch(id, SAMPLE_METHOD_ADD, add_args, 10, &r);
        iobuf_free(r);
    }
}
__attribute__((noinline)) void loop_dispatch_put64(void)
{
    for (long i = 0; i < n; i++) {
        struct iobuf *r;
        sample_dispatch(id, SAMPLE_METHOD_PUT, put_args, 16 + 64, &r);
        iobuf_free(r);
    }
}
__attribute__((noinline)) void loop_local_call(void)
{
    uint64_t s = 0;
    for (long i = 0; i < n; i++)
        s += sample_add(id, (uint64_t)i, 3, false);
    __asm__ volatile("" ::"r"(s));
}
__attribute__((noinline)) void loop_copy_baseline(void)
{
    for (long i = 0; i < n; i++) {
        uint8_t *p = malloc(32 + 10);
        memcpy(p + 32, add_args, 10);
        __asm__ volatile("" ::"r"(p) : "memory");
        free(p);
    }
}
/* A whole call to this node through the real Messenger: stub, frame, serve, dispatch, reply,
 * unpack, promise and future. */
__attribute__((noinline)) void loop_self_call(void)
{
    for (long i = 0; i < n; i++) {
        uint64_t v;
        ebb_future_block(sample_add_at(0, id, (uint64_t)i, 3, false), &v);
    }
}

static void cost(void *arg)
{
    (void)arg;
    ebb_bind(SAMPLE_ID, &sample_root);
    uint64_t a = 5;
    memcpy(add_args, &a, 8);
    add_args[8] = 3;
    uint64_t k = 64;
    memcpy(put_args, &k, 8);
    loop_local_call();
    loop_copy_baseline();
    loop_dispatch_add();
    loop_dispatch_put64();
    loop_self_call(); /* the real Messenger, from the image's static bindings */
    ebb_exit(0);
}

/* Stubs against the stand-in Messenger: a separate run (binding the id again is refused once
 * the real Messenger's rep exists). */
static void cost_stub(void *arg)
{
    (void)arg;
    ebb_bind(EBB_ID_MESSENGER, &fake_root);
    ebb_bind(SAMPLE_ID, &sample_root);
    loop_stub_add();
    loop_stub_put64();
    ebb_exit(0);
}

/* ---- round trips between processes ---- */

/* The server's rep: put does not look at the bytes, so that only the carrying is timed. */
struct quiet { const struct sample *ops; };
static void q_reset(void *s) { (void)s; }
static int q_on_event(void *s, int (*cb)(void *, int), void *a) { (void)s, (void)cb, (void)a; return 0; }
static ebb_future_t q_later(void *s, uint64_t d) { (void)s; return ebb_future_ready(d); }
static uint64_t q_add(void *s, uint64_t a, int8_t b, bool neg) { (void)s, (void)neg; return a + (uint64_t)b; }
static int q_put(void *s, const void *k, size_t kl, const uint32_t *v, uint16_t nv) { (void)s, (void)k, (void)v; return (int)kl + nv; }
static size_t q_get(void *s, const char *nm, uint8_t *b, size_t c) { (void)s, (void)nm, (void)b; return c; }
static void q_scale(void *s, int64_t *v, unsigned n_, struct point p, enum color c) { (void)s, (void)v, (void)n_, (void)p, (void)c; }
static bool q_ping(void *s) { (void)s; return true; }
static const struct sample quiet_ops = { q_reset, q_on_event, q_later, q_add, q_put, q_get, q_scale, q_ping };
static struct quiet the_quiet = { &quiet_ops };
static void *make_quiet(struct ebb_root *r, unsigned c) { (void)r, (void)c; return &the_quiet; }
SAMPLE_ROOT(quiet_root, make_quiet);


static uint16_t port0, port1, port_tcp;
static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}
static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, long k)
{
    qsort(v, (size_t)k, sizeof *v, cmp_d);
    return v[k / 2];
}

/* Both sides move these many bytes per round trip: the remote call's frames. */
static size_t req_bytes(void) { return 32 + 16 + size; }
static size_t rep_bytes(void) { return 32 + 8; }

static void rtt_client(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    uint8_t *buf = calloc(1, size + 1);
    double *t = malloc(sizeof *t * (size_t)n);
    uint64_t v;
    for (int i = 0; i < 1000; i++) /* warm up: connection, caches */
        ebb_future_block(sample_put_at(0, SAMPLE_ID, buf, size, NULL, 0), &v);
    for (long i = 0; i < n; i++) {
        double t0 = now_ns();
        if (ebb_future_block(sample_put_at(0, SAMPLE_ID, buf, size, NULL, 0), &v))
            ebb_exit(3);
        t[i] = now_ns() - t0;
    }
    printf("msg_rtt_ns %.0f\n", median(t, n));

    /* Baseline: the same bytes each way over a plain blocking TCP connection. */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port_tcp) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && tries < 100; tries++)
        usleep(20000);
    size_t q = req_bytes(), r = rep_bytes();
    uint8_t *b = calloc(1, q);
    for (long i = -1000; i < n; i++) {
        double t0 = now_ns();
        if (write(fd, b, q) != (ssize_t)q)
            ebb_exit(4);
        for (size_t got = 0; got < r;) {
            ssize_t k = read(fd, b, r - got);
            if (k <= 0)
                ebb_exit(5);
            got += (size_t)k;
        }
        if (i >= 0)
            t[i] = now_ns() - t0;
    }
    close(fd);
    printf("tcp_rtt_ns %.0f\n", median(t, n));
    fflush(stdout);
    ebb_messenger_stop();
    ebb_exit(0);
}

/* The baseline's server: read a request, write a reply of the remote call's sizes. */
static void tcp_echo(int lfd)
{
    int fd = accept(lfd, NULL, NULL), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t q = req_bytes(), r = rep_bytes();
    uint8_t *b = calloc(1, q);
    for (;;) {
        for (size_t got = 0; got < q;) {
            ssize_t k = read(fd, b + got, q - got);
            if (k <= 0)
                _exit(0);
            got += (size_t)k;
        }
        if (write(fd, b, r) != (ssize_t)r)
            _exit(0);
    }
}

static int role; /* 0 server, 1 client, 2 cost, 3 cost_stub */
static struct ebb_timer quit_timer;
static void server_quit(void *arg) { (void)arg; ebb_messenger_stop(); ebb_exit(0); }
void app_main(void)
{
    if (role == 2) {
        ebb_spawn(cost, NULL);
    } else if (role == 3) {
        ebb_spawn(cost_stub, NULL);
    } else if (role == 1) {
        ebb_spawn(rtt_client, NULL);
    } else {
        if (ebb_messenger_configure() < 0)
            ebb_exit(2);
        ebb_bind(SAMPLE_ID, &quiet_root);
        ebb_timer_start(&quit_timer, 120000000000ull, server_quit, NULL);
    }
}

static uint16_t listen_any(int *fdp)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof sa;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    if (fdp)
        *fdp = fd, listen(fd, 1);
    else
        close(fd);
    return ntohs(sa.sin_port);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: msgbench cost|cost_stub N | msgbench rtt N SIZE\n");
        return 2;
    }
    n = atol(argv[2]);
    if (!strcmp(argv[1], "cost") || !strcmp(argv[1], "cost_stub")) {
        role = argv[1][4] ? 3 : 2;
        char *args[] = { argv[0], "cores=1", NULL };
        return ebb_run(2, args);
    }
    size = argc > 3 ? (size_t)atol(argv[3]) : 64;
    int lfd = -1;
    port0 = listen_any(NULL);
    port1 = listen_any(NULL);
    port_tcp = listen_any(&lfd);
    char l0[32], l1[32], p0[64], p1[64];
    snprintf(l0, sizeof l0, "listen=%u", port0);
    snprintf(l1, sizeof l1, "listen=%u", port1);
    snprintf(p0, sizeof p0, "peers=1@127.0.0.1:%u", port1);
    snprintf(p1, sizeof p1, "peers=0@127.0.0.1:%u", port0);
    fflush(stdout);
    pid_t echo = fork();
    if (echo == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        tcp_echo(lfd);
    }
    close(lfd);
    pid_t server = fork();
    if (server == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char *args[] = { argv[0], "cores=1", "cpu=1", "node=0", l0, p0, NULL };
        _exit(ebb_run(6, args));
    }
    role = 1;
    char *args[] = { argv[0], "cores=1", "node=1", l1, p1, NULL };
    int rc = ebb_run(5, args);
    kill(server, SIGTERM);
    kill(echo, SIGTERM);
    waitpid(server, NULL, 0);
    waitpid(echo, NULL, 0);
    return rc;
}
