/* Ebb ids, binding, the fault path and the three kinds of root; a rep whose create_rep blocks,
 * waited for by another event on its core and by another core; hosted, cpu= pinning. */
#define _GNU_SOURCE
#include "core/ebb.h"
#include "core/event.h"
#include "core/future.h"
#include "tap.h"
#include <errno.h>
#include <stdlib.h>
#ifdef EBB_HOSTED
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#define NCORES 4

struct counter_rep {
    const void *ops;
    unsigned built_on;
};

static int builds;
static void *make_rep(struct ebb_root *root, unsigned core)
{
    struct counter_rep *r = malloc(sizeof *r);
    r->ops = root;
    r->built_on = core;
    __atomic_add_fetch(&builds, 1, __ATOMIC_SEQ_CST);
    /* Widen the window in which other cores fault on the same slot. */
    uint64_t until = ebb_now_ns() + 2000000;
    while (ebb_now_ns() < until)
        ;
    return r;
}

static struct ebb_root shared_root = { .name = "shared", .kind = EBB_SHARED, .create_rep = make_rep };
static struct ebb_root percore_root = { .name = "percore", .kind = EBB_PER_CORE, .create_rep = make_rep };
static struct ebb_root pernode_root = { .name = "pernode", .kind = EBB_PER_NODE, .create_rep = make_rep };

static ebb_id_t id_shared, id_percore, id_pernode;
static void *seen[3][NCORES];
static int arrived, finished;
#ifdef EBB_HOSTED
static int pinned[NCORES]; /* the one CPU each core's thread may run on, or -1 */
static int one_cpu(void)
{
    cpu_set_t s;
    if (sched_getaffinity(0, sizeof s, &s) != 0 || CPU_COUNT(&s) != 1)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &s))
            return i;
    return -1;
}
#endif

static void fault_all(void *arg)
{
    (void)arg;
    unsigned c = ebb_core();
#ifdef EBB_HOSTED
    pinned[c] = one_cpu();
#endif
    /* Every core faults on the same ids at the same moment. */
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < NCORES)
        ;
    seen[0][c] = ebb_rep(id_shared, 0);
    seen[1][c] = ebb_rep(id_percore, 0);
    seen[2][c] = ebb_rep(id_pernode, 0);
    /* Hits now: no further builds. */
    ok(ebb_rep(id_percore, 0) == seen[1][c] && ebb_rep(id_shared, 0) == seen[0][c],
       "core %u: second call hits the cached rep", c);
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
}

/* A root whose create_rep blocks on a future: a second event on the same core that faults on the
 * same id meanwhile must wait for it, not build a second rep. */
static int slow_builds;
static struct ebb_timer slow_timer;
static void fulfil(void *p) { ebb_promise_set(p, 0); }
static void *make_slow(struct ebb_root *root, unsigned core)
{
    (void)root;
    ebb_promise_t p;
    ebb_future_t f = ebb_promise_new(&p);
    ebb_timer_start(&slow_timer, 20000000, fulfil, p);
    ebb_future_block(f, NULL);
    __atomic_add_fetch(&slow_builds, 1, __ATOMIC_SEQ_CST);
    struct counter_rep *r = malloc(sizeof *r);
    r->built_on = core;
    return r;
}
static struct ebb_root slow_root = { .name = "slow", .kind = EBB_PER_CORE, .create_rep = make_slow };
static ebb_id_t id_slow;
static void *slow_seen[2];
static int slow_done;
static void slow_fault(void *arg)
{
    slow_seen[(uintptr_t)arg] = ebb_rep(id_slow, 0);
    __atomic_add_fetch(&slow_done, 1, __ATOMIC_SEQ_CST);
}
/* The same with a shared root: core 1 faults while core 0's create_rep is parked on its future. */
static struct ebb_root slow_shared_root = { .name = "slow_shared", .kind = EBB_SHARED, .create_rep = make_slow };
static ebb_id_t id_slow_shared;
static void *shared_seen[2];
static int shared_started, shared_done;
static void shared_fault(void *arg)
{
    if ((uintptr_t)arg == 0)
        __atomic_store_n(&shared_started, 1, __ATOMIC_SEQ_CST);
    shared_seen[(uintptr_t)arg] = ebb_rep(id_slow_shared, 0);
    __atomic_add_fetch(&shared_done, 1, __ATOMIC_SEQ_CST);
}
/* On core 1: once core 0 is inside create_rep (it counts no build until its future is set). */
static void shared_fault_late(void *arg)
{
    (void)arg;
    if (!__atomic_load_n(&shared_started, __ATOMIC_SEQ_CST)) {
        ebb_spawn(shared_fault_late, NULL);
        return;
    }
    shared_fault((void *)1);
}

struct counter_rep static_rep = { .built_on = 99 };
static void *static_create(struct ebb_root *root, unsigned core) { (void)root, (void)core; return &static_rep; }
static struct ebb_root static_root = { .name = "static", .kind = EBB_SHARED, .create_rep = static_create };
#define STATIC_ID 7
const struct ebb_static_binding ebb_image_bindings[] = { { STATIC_ID, &static_root } };
const size_t ebb_image_nbindings = 1;

/* A freed id, handed out again and bound to another root, must reach that root's rep on every
 * core: none may keep its cached rep of the old binding (id_percore's, cached on every core). */
static struct ebb_root new_root = { .name = "new", .kind = EBB_SHARED, .create_rep = static_create };
static struct ebb_timer realloc_timer;
static int realloc_tries, new_seen;
static void see_new(void *arg)
{
    (void)arg;
    if (ebb_rep(id_percore, 0) == &static_rep)
        __atomic_add_fetch(&new_seen, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
}
static void check_new(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < NCORES) {
        ebb_spawn(check_new, NULL);
        return;
    }
    is(new_seen, NCORES, "every core calls the new root's rep through the reused id");
    ebb_exit(tap_done());
}
/* Until the grace period ends the allocator hands out other ids, kept (freeing them would leave
 * grace periods running when the test exits). */
static void realloc_freed(void *arg)
{
    (void)arg;
    ebb_id_t id = ebb_id_alloc();
    if (id != id_percore && ++realloc_tries < 10000) {
        ebb_timer_start(&realloc_timer, 1000000, realloc_freed, NULL);
        return;
    }
    is(id, id_percore, "a freed id is handed out again (after %d tries)", realloc_tries);
    is(ebb_bind(id, &new_root), 0, "and can be bound to another root");
    finished = 0;
    for (unsigned c = 0; c < NCORES; c++)
        ebb_spawn_on(c, see_new, NULL);
    ebb_spawn(check_new, NULL);
}
static void free_percore(void)
{
    ebb_id_free(id_percore);
    realloc_freed(NULL);
}

static void check_shared(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&shared_done, __ATOMIC_SEQ_CST) < 2) {
        ebb_spawn(check_shared, NULL);
        return;
    }
    is(slow_builds, 2, "a shared rep whose build is parked is built once when another core faults on it");
    ok(shared_seen[0] && shared_seen[0] == shared_seen[1], "and that core waits for it and gets the same rep");
    free(shared_seen[0]);
    free_percore();
}

static void check_slow(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&slow_done, __ATOMIC_SEQ_CST) < 2) {
        ebb_spawn(check_slow, NULL);
        return;
    }
    is(slow_builds, 1, "a rep whose build blocks is built once when two events fault on it");
    ok(slow_seen[0] && slow_seen[0] == slow_seen[1], "both events got the same rep");
    free(slow_seen[0]);
    id_slow_shared = ebb_id_alloc();
    ebb_bind(id_slow_shared, &slow_shared_root);
    ebb_spawn(shared_fault, (void *)0);
    ebb_spawn_on(1, shared_fault_late, NULL);
    ebb_spawn(check_shared, NULL);
}

static void check(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < NCORES) {
        ebb_spawn(check, NULL);
        return;
    }
    is(builds, 1 + NCORES + 2, "built: one shared rep, one per core, one per NUMA node");
    int same = 1;
    for (int c = 1; c < NCORES; c++)
        same &= seen[0][c] == seen[0][0];
    ok(same, "shared kind: every core gets the same rep");
    int distinct = 1, own = 1;
    for (int c = 0; c < NCORES; c++) {
        own &= ((struct counter_rep *)seen[1][c])->built_on == (unsigned)c;
        for (int d = 0; d < c; d++)
            distinct &= seen[1][c] != seen[1][d];
    }
    ok(distinct && own, "per-core kind: each core its own rep, built on that core");
    ok(seen[2][0] == seen[2][1] && seen[2][2] == seen[2][3] && seen[2][0] != seen[2][2],
       "per-node kind: cores 0,1 share node 0's rep, cores 2,3 node 1's");
    is(ebb_bind(id_percore, &shared_root), -EBUSY, "rebinding an id in use is refused");
    is(ebb_bind(EBB_ID_NONE, &shared_root), -EINVAL, "binding EBB_ID_NONE is refused");
    ok(ebb_rep(STATIC_ID, 0) == &static_rep, "the image's static binding table serves an unbound id");
#ifdef EBB_HOSTED
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int good = 1;
    for (int c = 0; c < NCORES; c++)
        good &= pinned[c] == (int)((1 + c) % ncpu);
    ok(good, "cpu=1: core c runs pinned to CPU (1 + c) mod %ld (%d %d %d %d)", ncpu, pinned[0],
       pinned[1], pinned[2], pinned[3]);
#endif

    free(seen[0][0]);
    for (int c = 0; c < NCORES; c++)
        free(seen[1][c]);
    free(seen[2][0]);
    free(seen[2][2]);

    id_slow = ebb_id_alloc();
    ebb_bind(id_slow, &slow_root);
    ebb_spawn(slow_fault, (void *)0);
    ebb_spawn(slow_fault, (void *)1);
    ebb_spawn(check_slow, NULL);
}

void app_main(void)
{
    ebb_id_t a = ebb_id_alloc(), b = ebb_id_alloc();
    ok(a >= EBB_FIRST_DYNAMIC && b != a && EBB_ID_NODE(a) == 0, "dynamic ids are distinct and above the static range");
    id_shared = a;
    id_percore = ebb_id_alloc();
    id_pernode = ebb_id_alloc();
    is(ebb_bind(id_shared, &shared_root), 0, "bind shared root");
    ebb_bind(id_percore, &percore_root);
    ebb_bind(id_pernode, &pernode_root);
    for (unsigned c = 0; c < NCORES; c++)
        ebb_spawn_on(c, fault_all, NULL);
    ebb_spawn(check, NULL);
}

#ifdef EBB_HOSTED /* the checks that a bad call stops the program need a child process */
/* Runs a call in a child process and returns what it wrote to stderr and its status. */
static int child_stderr(void (*fn)(void), char *buf, size_t len)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        fn();
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return st;
}

static struct ebb_root typed_root = { .name = "typed", .iface = 0x1111, .kind = EBB_SHARED, .create_rep = make_rep };
static void call_wrong_iface(void) { ebb_bind(300, &typed_root); ebb_rep(300, 0x2222); }
static void call_unbound(void) { ebb_rep(301, 0x2222); }

#endif

int main(int argc, char **argv)
{
    (void)argc;
#ifdef EBB_HOSTED
    tap_plan(23);
    tap_deadline(120);
    char buf[512];
    int st = child_stderr(call_wrong_iface, buf, sizeof buf);
    ok(WIFSIGNALED(st) && strstr(buf, "bound to root typed of interface 0x1111, but called as 0x2222"),
       "calling an Ebb through the wrong interface stops with a clear message");
    st = child_stderr(call_unbound, buf, sizeof buf);
    ok(WIFSIGNALED(st) && strstr(buf, "no root bound"), "calling an unbound id stops with a clear message");
#else
    tap_plan(20);
#endif
#ifdef EBB_HOSTED
    char *args[] = { argv[0], "cores=4", "numa=2", "cpu=1", NULL };
    return ebb_run(4, args);
#else
    char *args[] = { argv[0], "cores=4", "numa=2", NULL };
    return ebb_run(3, args);
#endif
}
