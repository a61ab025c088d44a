/* The GlobalIdMap across two hosted nodes over the Messenger: node 1 joins, sets 1,000 ids of
 * its own space (data of random lengths) and reads them back, node 0 reads all of them and sees
 * node 1 in the membership with its address. Embedded by default (node 0 holds the map, node 1
 * asks it through the Messenger); with globalidmap=zk:HOST:PORT (tests/gidmap_zk.t) both nodes
 * use that ZooKeeper instead, with the same checks.
 *
 *   gidmap [globalidmap=zk:HOST:PORT] [key_file=PATH]             the test (TAP)
 *   gidmap bench=N [globalidmap=...]                               N gets of one id from node 1:
 *                                                                   "gidmap_get_us <mean>"
 *   gidmap role=serve node=N listen=P listen_addr=A [globalidmap=...]   the two-"hosts" test's
 *   gidmap role=call node=N target=M [globalidmap=...]       nodes (tests/gidmap_hosts.t) */
#define _GNU_SOURCE
#include "core/config.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/messenger.h"
#include "ebb_hosted.h"
#include "ebbs/globalidmap.gen.h"
#include "tap.h"
#include "tests/gidmap_ids.h"
#include "tests/msg_raw.h"
#include "tests/sample_rep.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NIDS GIDMAP_NIDS
#define SAMPLE_ID EBB_ID(0, 250) /* the two-"hosts" test's callee */
#define G EBB_ID_GLOBALIDMAP

static int report_fd = -1, go_fd = -1; /* node 1 -> node 0: its count; node 0 -> node 1: done */
static char addr1[32];

static int block(ebb_future_t f, uint64_t *v)
{
    uint64_t dummy;
    return ebb_future_block(f, v ? v : &dummy);
}

/* Sets (set != 0) or checks the GIDMAP_NIDS ids of node 1's space: the number that failed. */
static int all_ids(int set) { return (int)gidmap_ids(1, 1, set); }

/* ---- node 1 ---- */

static void node1_done(void *arg, uint32_t events)
{
    (void)arg, (void)events;
    ebb_exit(0); /* node 0 has made its checks */
}

static void node1(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    is(block(globalidmap_join(G, 1, addr1), NULL), 0, "node 1 joins with its address");
    ebb_id_t first = ebb_id_alloc();
    for (unsigned i = 1; i < NIDS; i++)
        ebb_id_alloc();
    is(first, EBB_ID(1, 1), "node 1's ids are of its own space (%#x)", first);
    is(all_ids(1), 0, "node 1 sets %u ids", NIDS);
    is(all_ids(0), 0, "node 1 reads the %u ids back", NIDS);
    uint8_t buf[16];
    is(block(globalidmap_get(G, EBB_ID(1, 60000), buf, sizeof buf), NULL), ENOENT,
       "an id with no data: ENOENT");
    static uint8_t big[GIDMAP_DATA_MAX + 1];
    is(block(globalidmap_set(G, EBB_ID(1, 60001), big, sizeof big), NULL), EMSGSIZE,
       "data above GIDMAP_DATA_MAX: EMSGSIZE");
    uint8_t v1[] = "first", v2[] = "second value";
    uint64_t n = 0;
    ok(block(globalidmap_set(G, EBB_ID(1, 60002), v1, sizeof v1), NULL) == 0 &&
       block(globalidmap_set(G, EBB_ID(1, 60002), v2, sizeof v2), NULL) == 0 &&
       block(globalidmap_get(G, EBB_ID(1, 60002), buf, 4), &n) == 0 && n == sizeof v2 &&
       memcmp(buf, "seco", 4) == 0, "a set replaces the data; a short buffer gets its first bytes and the whole length");
    int count = atomic_load(&tap_n);
    if (write(report_fd, &count, sizeof count) != sizeof count)
        ebb_exit(3);
    ebb_fd_watch(go_fd, EPOLLIN, node1_done, NULL);
}

/* ---- node 0 ---- */

static int join0 = -1;

static void node0_checks(void *arg, uint32_t events)
{
    (void)arg, (void)events;
    int n = 0;
    if (read(report_fd, &n, sizeof n) != sizeof n) {
        ebb_fd_unwatch(report_fd);
        ok(0, "node 1 reported its checks");
        ebb_exit(1);
        return;
    }
    ebb_fd_unwatch(report_fd);
    atomic_store(&tap_n, n);
    is(join0, 0, "node 0 joins");
    is(all_ids(0), 0, "node 0 reads the %u ids node 1 set", NIDS);
    uint32_t nodes[8];
    uint64_t count = 0;
    int err = block(globalidmap_members(G, nodes, 8), &count);
    ok(!err && count == 2 && nodes[0] == 0 && nodes[1] == 1, "members: nodes 0 and 1 (err %d, %llu)",
       err, (unsigned long long)count);
    char a[GIDMAP_ADDR_MAX];
    ok(block(globalidmap_lookup(G, 1, a, sizeof a), NULL) == 0 && strcmp(a, addr1) == 0,
       "node 1's address, looked up on node 0: %s", a);
    is(block(globalidmap_lookup(G, 7, a, sizeof a), NULL), ENOENT, "a node that never joined: ENOENT");
    ok(block(globalidmap_leave(G, 0), NULL) == 0 && block(globalidmap_members(G, nodes, 8), &count) == 0 &&
       count == 1 && nodes[0] == 1, "node 0 leaves: node 1 is the only member");
    char c = 1;
    if (write(go_fd, &c, 1) != 1)
        ebb_exit(3);
    ebb_exit(0);
}

static void node0(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    join0 = block(globalidmap_join(G, 0, ""), NULL); /* reported once node 1 has printed its lines */
    ebb_fd_watch(report_fd, EPOLLIN, node0_checks, NULL);
}

/* ---- bench: node 1 gets one id bench= times ---- */

static void bench(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    long n = ebb_config_int("bench", 1000, 1, 10000000);
    uint8_t d[64] = "sixty-four bytes of data for the bench", buf[64];
    if (block(globalidmap_set(G, EBB_ID(1, 1), d, sizeof d), NULL))
        ebb_exit(4);
    uint64_t t0 = ebb_now_ns();
    for (long i = 0; i < n; i++)
        if (block(globalidmap_get(G, EBB_ID(1, 1), buf, sizeof buf), NULL))
            ebb_exit(5);
    printf("gidmap_get_us %.2f\n", (double)(ebb_now_ns() - t0) / 1000.0 / (double)n);
    fflush(stdout);
    char c = 1;
    if (report_fd >= 0 && write(report_fd, &c, 1) != 1)
        ebb_exit(3);
    ebb_exit(0);
}

static void holder_done(void *arg, uint32_t events)
{
    (void)arg, (void)events;
    ebb_exit(0);
}

static void holder(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    ebb_fd_watch(report_fd, EPOLLIN, holder_done, NULL);
}

/* ---- the two-"hosts" test: a node that serves, a node that finds it and calls it ---- */

static void serve(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    ebb_bind(SAMPLE_ID, &sample_root);
    char a[GIDMAP_ADDR_MAX];
    snprintf(a, sizeof a, "%s:%s", ebb_config_str("listen_addr", "127.0.0.1"), ebb_config_str("listen", "0"));
    if (block(globalidmap_join(G, ebb_node(), a), NULL)) {
        printf("serve: cannot join\n");
        ebb_exit(4);
    }
    printf("node %u serving at %s\n", ebb_node(), a);
    fflush(stdout);
}

static void call(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    unsigned target = (unsigned)ebb_config_int("target", 0, 0, EBB_MAX_NODES - 1);
    char a[GIDMAP_ADDR_MAX];
    int err = 0;
    for (int i = 0; i < 300; i++) { /* the target joins once its ZooKeeper session is up */
        if ((err = block(globalidmap_lookup(G, target, a, sizeof a), NULL)) != ENOENT)
            break;
        usleep(100000);
    }
    char *colon = err ? NULL : strrchr(a, ':');
    if (!colon) {
        printf("call: node %u not found in the GlobalIdMap (error %d)\n", target, err);
        ebb_exit(4);
        return;
    }
    *colon = 0;
    ebb_messenger_peer(target, a, (uint16_t)atoi(colon + 1));
    uint64_t v = 0;
    err = block(sample_add_at(target, SAMPLE_ID, 40, 2, false), &v);
    printf("node %u called node %u at %s:%s: error %d, value %llu\n", ebb_node(), target, a,
           colon + 1, err, (unsigned long long)v);
    ebb_exit(err || v != 42 ? 1 : 0);
}

/* ---- main ---- */

static const char *role;

void app_main(void)
{
    if (!strcmp(role, "serve"))
        ebb_spawn(serve, NULL);
    else if (!strcmp(role, "call"))
        ebb_spawn(call, NULL);
    else if (!strcmp(role, "bench"))
        ebb_spawn(bench, NULL);
    else if (!strcmp(role, "holder"))
        ebb_spawn(holder, NULL);
    else
        ebb_spawn(ebb_node() == 0 ? node0 : node1, NULL);
}

int main(int argc, char **argv)
{
    /* Arguments pass through to both nodes (globalidmap=, key_file=, bench=, role=...). */
    char *extra[16];
    int nextra = 0;
    role = "test";
    for (int i = 1; i < argc && nextra < 12; i++) {
        if (!strncmp(argv[i], "role=", 5))
            role = argv[i] + 5;
        else if (!strncmp(argv[i], "bench=", 6))
            role = "bench";
        extra[nextra++] = argv[i];
    }
    if (strcmp(role, "test") != 0)
        atomic_store(&tap_finished, 1); /* not a test run: no TAP */
    if (!strcmp(role, "serve") || !strcmp(role, "call")) {
        char *args[20] = { argv[0], "cores=1" };
        memcpy(args + 2, extra, (size_t)nextra * sizeof *args);
        return ebb_run(2 + nextra, args);
    }
    int bench_mode = !strcmp(role, "bench");
    if (!bench_mode) {
        tap_plan(16); /* 1 here, 7 by node 1, 8 by node 0 */
        tap_deadline(200);
    }
    uint16_t port0 = free_port(0), port1 = free_port(port0);
    if (!bench_mode && !ok(port0 && port1, "two free loopback ports (%u, %u)", port0, port1))
        return tap_done();
    char listen0[32], listen1[32], peers1[64];
    snprintf(listen0, sizeof listen0, "listen=%u", port0);
    snprintf(listen1, sizeof listen1, "listen=%u", port1);
    snprintf(addr1, sizeof addr1, "127.0.0.1:%u", port1);
    snprintf(peers1, sizeof peers1, "peers=0@127.0.0.1:%u", port0);
    int rep[2], go[2];
    if (pipe(rep) < 0 || pipe(go) < 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(rep[0]);
        close(go[1]);
        report_fd = rep[1];
        go_fd = go[0];
        char *args[20] = { argv[0], "cores=1", "node=1", listen1, peers1 };
        memcpy(args + 5, extra, (size_t)nextra * sizeof *args);
        _exit(ebb_run(5 + nextra, args));
    }
    close(rep[1]);
    close(go[0]);
    report_fd = rep[0];
    go_fd = go[1];
    if (bench_mode)
        role = "holder";
    char *args[20] = { argv[0], "cores=1", "cpu=1", "node=0", listen0 };
    memcpy(args + 5, extra, (size_t)nextra * sizeof *args);
    int rc = ebb_run(5 + nextra, args);
    int st = 0;
    waitpid(pid, &st, 0);
    if (bench_mode)
        return rc || !WIFEXITED(st) || WEXITSTATUS(st);
    is(rc, 0, "node 0 exits with status 0");
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "node 1 exits with status 0 (status %#x)", st);
    return tap_done();
}
