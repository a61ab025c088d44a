/* The cluster test's front end (tests/cluster.t runs it): boots two native nodes through the
 * NodeAllocator and checks calls both ways and between the nodes, that a node killed in the
 * middle of a call fails the call with EBB_ENODEDOWN, and freeing. TAP on stdout.
 *
 *   cluster_test [mode=hold] [node_numa=LIST]   hold: one node (on those host NUMA nodes), call
 *                it, print "up K", then wait to be stopped by a signal
 *   cluster_test mode=hosts [call_node=M]   tests/gidmap_hosts.t's front ends: one node, print
 *                "up K"; with call_node=M, once node K sees M among the GlobalIdMap's members,
 *                node K calls M's echo and the result is printed, then K is freed and whether
 *                it left the members; else wait for a signal
 *   cluster_test mode=bench [bench_calls=N]   make bench-cluster's numbers (tests/bench/cluster.sh):
 *                allocation to the first answered call (3 times), round trips front end ->
 *                native and native -> native (medians of N calls) */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/config.h"
#include "core/event.h"
#include "core/messenger.h"
#include "core/platform.h"
#include "ebbs/node_allocator.gen.h"
#include "ebbs/globalidmap.gen.h"
#include "tests/cluster/ctest.gen.h"
#include "tests/gidmap_ids.h"
#include "tests/tap.h"

#define G EBB_ID_GLOBALIDMAP

static ebb_future_t allocate(void)
{
    struct node_options opt = { .image = "cluster_test", .cores = 1, .memory_mb = 64,
                                .args = ebb_config_get("node_args"), .numa = ebb_config_get("node_numa") };
    return node_allocator_allocate(EBB_ID_NODE_ALLOCATOR, &opt);
}

static uint64_t call(ebb_future_t f, int *err)
{
    uint64_t v = 0;
    *err = ebb_future_block(f, &v);
    return v;
}

/* The GlobalIdMap's members as the front end sees them: a bit per node (all below 64). */
static uint64_t members(void)
{
    uint32_t nodes[64];
    uint64_t n = 0, bits = 0;
    if (ebb_future_block(globalidmap_members(G, nodes, 64), &n) != 0)
        return ~0ull;
    for (uint64_t i = 0; i < n && i < 64; i++)
        bits |= nodes[i] < 64 ? 1ull << nodes[i] : 0;
    return bits;
}

static void nap_done(void *arg) { ebb_promise_set(*(ebb_promise_t *)arg, 0); }
static void nap(unsigned ms)
{
    static struct ebb_timer t;
    ebb_promise_t p;
    ebb_future_t f = ebb_promise_new(&p);
    ebb_timer_start(&t, ms * 1000000ull, nap_done, &p);
    ebb_future_block(f, NULL);
}

/* Waits (bounded: 60 s) until node k is in n sleep() calls. */
static bool sleeping(unsigned k, uint64_t n)
{
    int err = 0;
    for (int i = 0; i < 600 && !err; i++) {
        if (call(ctest_sleeping_at(k, EBB_ID_CTEST), &err) == n)
            return true;
        nap(100);
    }
    return false;
}

/* Kills node k's QEMU from outside the allocator (as a crash would), by its pid file. */
static int kill_node(unsigned k)
{
    char path[PATH_MAX];
    const char *x = getenv("XDG_RUNTIME_DIR");
    snprintf(path, sizeof path, "%s/ebbrt-cluster-%u/run-%d/node-%u.pid", x && *x ? x : "/tmp",
             (unsigned)getuid(), (int)getpid(), k);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid > 0 ? kill(pid, SIGKILL) : -1;
}

static void hold(void)
{
    int err;
    unsigned k = (unsigned)call(allocate(), &err);
    uint64_t v = err ? 0 : call(ctest_echo_at(k, EBB_ID_CTEST, 5), &err);
    if (err || v != k * 1000 + 5) {
        printf("allocation or the first call failed: %s\n", strerror(err));
        ebb_exit(1);
        return;
    }
    printf("up %u\n", k);
    fflush(stdout);
    ebb_promise_t never;
    ebb_future_block(ebb_promise_new(&never), NULL); /* until a signal */
}

/* A front end of one "host" (tests/gidmap_hosts.t): its node calls a node of the other host,
 * found among the GlobalIdMap's members. */
static void hosts(void)
{
    long target = ebb_config_int("call_node", -1, -1, 62);
    if (target < 0) {
        hold();
        return;
    }
    int err;
    unsigned k = (unsigned)call(allocate(), &err);
    uint64_t m = 0;
    for (int i = 0; !err && i < 600 && !(m >> target & 1); i++) {
        m = call(ctest_members_at(k, EBB_ID_CTEST), &err);
        if (m >> 63)
            err = (int)(m & 0xffff);
        else if (!(m >> target & 1))
            nap(100);
    }
    uint64_t v = err ? 0 : call(ctest_relay_at(k, EBB_ID_CTEST, (uint32_t)target, EBB_ID_CTEST, 5), &err);
    printf("node %u -> node %ld: %llu (error %d, members %#llx)\n", k, target, (unsigned long long)v,
           err, (unsigned long long)m);
    /* Freed, node k leaves the members (in ZooKeeper: its znode goes at once, not at the end of
     * the front end's session). */
    node_allocator_free(EBB_ID_NODE_ALLOCATOR, k);
    for (int i = 0; i < 100 && members() >> k & 1; i++)
        nap(100);
    printf("node %u %s the members\n", k, members() >> k & 1 ? "is still among" : "left");
    fflush(stdout);
    ebb_exit(err || v >> 63 ? 1 : 0);
}

uint64_t ctest_rtt_median(unsigned target, uint64_t calls);

static void bench(void)
{
    uint64_t n = (uint64_t)ebb_config_int("bench_calls", 2000, 1, 1000000);
    int err;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = platform_now_ns();
        unsigned k = (unsigned)call(allocate(), &err);
        if (!err)
            call(ctest_echo_at(k, EBB_ID_CTEST, 1), &err);
        if (err) {
            printf("bench: node %u: %s\n", k, strerror(err));
            ebb_exit(1);
            return;
        }
        printf("alloc_first_call_ms %.1f\n", (platform_now_ns() - t0) / 1e6);
        node_allocator_free(EBB_ID_NODE_ALLOCATOR, k);
        while (node_allocator_count(EBB_ID_NODE_ALLOCATOR))
            nap(10);
    }
    ebb_future_t fs[2] = { allocate(), allocate() };
    uint64_t ids[2];
    if ((err = ebb_future_block(ebb_future_when_all(fs, 2, ids), NULL)) != 0) {
        printf("bench: allocation: %s\n", strerror(err));
        ebb_exit(1);
        return;
    }
    /* Warm: connections up, reps built, both ways. */
    call(ctest_rtt_at((unsigned)ids[0], EBB_ID_CTEST, (uint32_t)ids[1], 10), &err);
    ctest_rtt_median((unsigned)ids[0], 10);
    printf("rtt_hosted_native_ns %llu\n", (unsigned long long)ctest_rtt_median((unsigned)ids[0], n));
    printf("rtt_native_native_ns %llu\n",
           (unsigned long long)call(ctest_rtt_at((unsigned)ids[0], EBB_ID_CTEST, (uint32_t)ids[1], n), &err));
    fflush(stdout);
    ebb_exit(err ? 1 : 0);
}

static void test(void *arg)
{
    (void)arg;
    const char *mode = ebb_config_str("mode", "test");
    if (strcmp(mode, "test")) {
        atomic_store(&tap_finished, 1); /* no TAP in these modes */
        if (!strcmp(mode, "bench"))
            bench();
        else if (!strcmp(mode, "hosts"))
            hosts();
        else
            hold();
        return;
    }
    tap_plan(40);
    tap_deadline(240);
    int err;
    if (ctest_bind_top() < 0)
        ebb_panic("cannot bind %#x", EBB_ID_CTEST_TOP);
    uint64_t t0 = platform_now_ns();
    ebb_future_t fs[2] = { allocate(), allocate() };
    uint64_t ids[2];
    err = ebb_future_block(ebb_future_when_all(fs, 2, ids), NULL);
    is(err, 0, "two native nodes allocated (%.0f ms)", (platform_now_ns() - t0) / 1e6);
    if (err) {
        tap_done();
        ebb_exit(1);
        return;
    }
    ok((ids[0] == 1 && ids[1] == 2) || (ids[0] == 2 && ids[1] == 1), "they are nodes 1 and 2");
    is(node_allocator_count(EBB_ID_NODE_ALLOCATOR), 2, "the allocator counts two nodes");

    is(call(ctest_echo_at(1, EBB_ID_CTEST, 5), &err), 1005, "front end -> node 1");
    is(call(ctest_echo_at(2, EBB_ID_CTEST, 6), &err), 2006, "front end -> node 2");
    is(call(ctest_relay_at(1, EBB_ID_CTEST, 0, EBB_ID_CTEST, 7), &err), 7, "node 1 -> front end");
    is(call(ctest_relay_at(2, EBB_ID_CTEST, 0, EBB_ID_CTEST, 8), &err), 8, "node 2 -> front end");
    is(call(ctest_relay_at(1, EBB_ID_CTEST, 2, EBB_ID_CTEST, 9), &err), 2009, "node 1 -> node 2 (native to native)");
    is(call(ctest_relay_at(2, EBB_ID_CTEST, 1, EBB_ID_CTEST, 10), &err), 1010, "node 2 -> node 1 (native to native)");

    /* The last id of the space, bound on every node, called across them. */
    is(call(ctest_echo_at(1, EBB_ID_CTEST_TOP, 11), &err), 1011, "front end -> the last id (%#x) on node 1", EBB_ID_CTEST_TOP);
    is(call(ctest_relay_at(1, EBB_ID_CTEST, 2, EBB_ID_CTEST_TOP, 12), &err), 2012, "node 1 -> the last id on node 2 (native to native)");
    is(call(ctest_relay_at(2, EBB_ID_CTEST, 0, EBB_ID_CTEST_TOP, 13), &err), 13, "node 2 -> the last id on the front end");

    /* Membership and ids in the GlobalIdMap, seen from the front end and from the nodes. */
    is(members(), 7, "the front end sees nodes 0, 1 and 2 as members");
    char addr[GIDMAP_ADDR_MAX] = "";
    ok(ebb_future_block(globalidmap_lookup(G, 2, addr, sizeof addr), NULL) == 0 &&
       !strcmp(addr, "10.254.0.3:7000"), "node 2's address in the GlobalIdMap: %s", addr);
    is(call(ctest_members_at(1, EBB_ID_CTEST), &err), 7, "node 1 sees the same members");
    is(call(ctest_ids_at(1, EBB_ID_CTEST, 1, 1), &err), 0, "node 1 sets the %u ids at the top of its space", GIDMAP_NIDS);
    is(call(ctest_ids_at(2, EBB_ID_CTEST, 1, 0), &err), 0, "node 2 reads them all (native to native)");
    is(gidmap_ids(1, EBB_MAX_INDEX - GIDMAP_NIDS, 0), 0, "the front end reads them all");

    /* A node killed while calls wait on it, the front end's and node 1's: both fail with the
     * named error. */
    ebb_future_t pending = ctest_sleep_at(2, EBB_ID_CTEST, 60000);
    ebb_future_t relayed = ctest_relay_sleep_at(1, EBB_ID_CTEST, 2, 60000);
    ok(sleeping(2, 2), "both calls are in progress on node 2");
    is(kill_node(2), 0, "node 2's QEMU killed in the middle of calls");
    uint64_t t1 = platform_now_ns();
    call(pending, &err);
    double ms = (platform_now_ns() - t1) / 1e6;
    is(err, EBB_ENODEDOWN, "the front end's pending call fails with EBB_ENODEDOWN (%s) after %.0f ms",
       strerror(err), ms);
    ok(ms < 10000, "soon after the kill, not at the call's timeout");
    uint64_t v = call(relayed, &err);
    ms = (platform_now_ns() - t1) / 1e6;
    ok(err == 0 && v == (1ull << 63 | EBB_ENODEDOWN) && ms < 10000,
       "node 1's pending call to node 2 fails with EBB_ENODEDOWN too, after %.0f ms (%#llx)", ms,
       (unsigned long long)v);
    is(call(ctest_relay_at(1, EBB_ID_CTEST, 2, EBB_ID_CTEST, 1), &err), 1ull << 63 | EHOSTUNREACH,
       "node 1's new call to node 2 fails at once with EHOSTUNREACH");
    nap(100);
    is(node_allocator_count(EBB_ID_NODE_ALLOCATOR), 1, "one node left");
    call(ctest_echo_at(2, EBB_ID_CTEST, 1), &err);
    is(err, EHOSTUNREACH, "a new call to the dead node fails at once (%s)", strerror(err));
    is(members(), 3, "node 2 left the GlobalIdMap's members (front end's view)");
    is(call(ctest_members_at(1, EBB_ID_CTEST), &err), 3, "node 1 sees it too");

    /* A new node gets number 2 again: node 1 is told where it is. */
    uint64_t k = call(allocate(), &err);
    ok(err == 0 && k == 2, "a new node allocated gets number 2 again (%s)", strerror(err));
    is(call(ctest_relay_at(1, EBB_ID_CTEST, 2, EBB_ID_CTEST, 14), &err), 2014, "node 1 -> the new node 2");
    is(members(), 7, "the new node 2 is a member");

    /* Freeing a node with calls pending on it, the front end's and node 2's. */
    pending = ctest_sleep_at(1, EBB_ID_CTEST, 60000);
    relayed = ctest_relay_sleep_at(2, EBB_ID_CTEST, 1, 60000);
    ok(sleeping(1, 2), "both calls are in progress on node 1");
    is(node_allocator_free(EBB_ID_NODE_ALLOCATOR, 1), 0, "node 1 freed");
    call(pending, &err);
    is(err, EBB_ENODEDOWN, "its pending call fails with EBB_ENODEDOWN (%s)", strerror(err));
    v = call(relayed, &err);
    ok(err == 0 && v == (1ull << 63 | EBB_ENODEDOWN), "node 2's pending call to it fails with EBB_ENODEDOWN (%#llx)",
       (unsigned long long)v);
    is(members(), 5, "node 1 left the members");
    is(call(ctest_members_at(2, EBB_ID_CTEST), &err), 5, "node 2 sees it too");
    is(node_allocator_free(EBB_ID_NODE_ALLOCATOR, 2), 0, "node 2 freed");
    nap(200);
    is(node_allocator_count(EBB_ID_NODE_ALLOCATOR), 0, "no node left");
    is(members(), 1, "only the front end is a member");
    ebb_exit(tap_done());
}

void app_main(void) { ebb_spawn(test, NULL); }
