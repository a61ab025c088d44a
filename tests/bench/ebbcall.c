/* Cost of an Ebb call against a direct call and a call through a function pointer, and of
 * spawning events. Run by tests/bench/core.sh under callgrind (instruction counts: loop_* are
 * read inclusive) and natively (nanoseconds). */
#include "core/ebb.h"
#include "core/event.h"
#include "ebb_hosted.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

struct adder {
    uint64_t (*add)(void *self, uint64_t x);
};
#define ADDER_IFACE 0xadd0ull
struct adder_rep {
    const struct adder *ops;
    uint64_t sum;
};

__attribute__((noinline)) static uint64_t add_impl(void *self, uint64_t x)
{
    struct adder_rep *r = self;
    return r->sum += x;
}
static const struct adder adder_ops = { add_impl };
static struct adder_rep the_rep = { &adder_ops, 0 };
static void *create(struct ebb_root *root, unsigned core) { (void)root, (void)core; return &the_rep; }
static struct ebb_root adder_root = { .name = "adder", .iface = ADDER_IFACE, .kind = EBB_SHARED, .create_rep = create };

static inline uint64_t adder_add(ebb_id_t id, uint64_t x)
{
    void *r = ebb_rep(id, ADDER_IFACE);
    return EBB_OPS(r, struct adder)->add(r, x);
}

struct adder_rep *volatile obj_ptr = &the_rep; /* the baseline's object, through a pointer */
static ebb_id_t id;
static long n;

__attribute__((noinline)) void loop_direct(void) { for (long i = 0; i < n; i++) add_impl(&the_rep, 1); }
__attribute__((noinline)) void loop_fnptr(void)
{
    for (long i = 0; i < n; i++) {
        struct adder_rep *o = obj_ptr;
        o->ops->add(o, 1);
    }
}
__attribute__((noinline)) void loop_ebb(void) { for (long i = 0; i < n; i++) adder_add(id, 1); }
/* A system Ebb's id is a constant: the slot's address is known at compile time. */
#define STATIC_ID 100
__attribute__((noinline)) void loop_ebb_static(void) { for (long i = 0; i < n; i++) adder_add(STATIC_ID, 1); }

static double ns_per(void (*fn)(void))
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    fn();
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n;
}

/* Spawn: a chain of n local events, then n remote ping-pongs between cores 0 and 1. */
static long left;
static uint64_t t0;
static void pong(void *arg);
static void ping(void *arg)
{
    (void)arg;
    if (--left <= 0) {
        double ns = (double)(ebb_now_ns() - t0) / (double)n / 2;
        printf("spawn_remote_ns %.1f\n", ns);
        ebb_exit(0);
        return;
    }
    ebb_spawn_on(1, pong, NULL);
}
static void pong(void *arg) { (void)arg; ebb_spawn_on(0, ping, NULL); }

static void local_ev_last(void *arg);
static void local_ev(void *arg)
{
    (void)arg;
    ebb_spawn(--left > 0 ? local_ev : local_ev_last, NULL);
}
static void local_ev_last(void *arg)
{
    (void)arg;
    printf("spawn_local_ns %.1f\n", (double)(ebb_now_ns() - t0) / (double)n);
    ebb_exit(0);
}

/* Baseline for remote spawn: two Linux threads passing a token through pipes. */
static int p01[2], p10[2];
static void *pipe_peer(void *arg)
{
    (void)arg;
    char c;
    for (long i = 0; i < n; i++)
        if (read(p01[0], &c, 1) != 1 || write(p10[1], &c, 1) != 1)
            break;
    return NULL;
}
static void pipe_pingpong(void)
{
    pthread_t t;
    char c = 'x';
    if (pipe(p01) || pipe(p10) || pthread_create(&t, NULL, pipe_peer, NULL))
        exit(1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        if (write(p01[1], &c, 1) != 1 || read(p10[0], &c, 1) != 1)
            exit(1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    printf("pipe_oneway_ns %.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n / 2);
}

static int remote;
void app_main(void)
{
    left = n;
    t0 = ebb_now_ns();
    if (remote)
        ebb_spawn_on(1, pong, NULL);
    else
        ebb_spawn(local_ev, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s calls|local|remote N\n", argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    if (!strcmp(argv[1], "calls")) {
        id = ebb_id_alloc();
        ebb_bind(id, &adder_root);
        ebb_bind(STATIC_ID, &adder_root);
        adder_add(id, 0); /* fault once: the loops measure hits */
        adder_add(STATIC_ID, 0);
        printf("direct_ns %.2f\nfnptr_ns %.2f\nebb_ns %.2f\n", ns_per(loop_direct), ns_per(loop_fnptr), ns_per(loop_ebb));
        loop_ebb_static();
        return 0;
    }
    if (!strcmp(argv[1], "pipe")) {
        pipe_pingpong();
        return 0;
    }
    remote = !strcmp(argv[1], "remote");
    char *args[] = { argv[0], "cores=2", NULL };
    return ebb_hosted_run(2, args);
}
