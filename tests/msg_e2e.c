/* Two hosted processes on loopback: node 65535 (the last of the id space; "the client" below)
 * calls remotely callable methods of Ebbs whose reps live on node 0, through generated stubs and the Messenger over TCP, and gets the right results
 * through futures: single calls, buffers in and out, 200 calls in flight, calls from a core that
 * does not own the Messenger's sockets, a method served asynchronously, node 0 calling the last
 * id of the last node back over the connection the client dialled. Node 0 starts late, so the
 * client's first calls wait for
 * the connection. A raw TCP peer then sends node 0 a frame with a wrong
 * interface hash, an oversized frame and a truncated one: each is answered with an error frame
 * and node 0 keeps serving. Finally the client tells node 0 to quit; both exit with status 0. */
#define _GNU_SOURCE
#include "core/ebb.h"
#include "core/event.h"
#include "core/messenger.h"
#include "ebb_hosted.h"
#include "tap.h"
#include "tests/msg_raw.h"
#include "tests/gen/ctl.gen.h"
#include "tests/sample_rep.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_ID EBB_ID(0, 250)
#define CTL_ID    EBB_ID(0, 251)
#define TOP_NODE  (EBB_MAX_NODES - 1)
#define TOP_ID    EBB_ID(TOP_NODE, EBB_MAX_INDEX - 1) /* the last id of the space */

static int role_client;
static int count_fd = -1; /* the client writes how many assertions it made here */

/* ---- node 0: the server ---- */

struct ctl_rep { const struct e2e_ctl *ops; };
static struct ebb_timer exit_timer;
static void exit_now(void *arg) { ebb_exit((int)(intptr_t)arg); }
static void finish(void *arg)
{
    /* Connections close now (the client sees its unanswered call fail); the process exits once the
     * call still being served here has finished, so that nothing it holds is leaked. */
    ebb_messenger_stop();
    ebb_timer_start(&exit_timer, 700000000, exit_now, arg);
}
static int c_quit(void *self, int32_t code)
{
    (void)self;
    ebb_spawn(finish, (void *)(intptr_t)code);
    return 0;
}
static uint32_t c_where(void *self) { (void)self; return ebb_node() << 8 | ebb_core(); }
static ebb_future_t c_relay(void *self, uint32_t node, uint64_t a)
{
    (void)self;
    return sample_add_at(node, EBB_ID(node, EBB_MAX_INDEX - 1), a, 1, false); /* node's last id */
}
static const struct e2e_ctl ctl_ops = { c_quit, c_where, c_relay };
static struct ctl_rep the_ctl = { &ctl_ops };
static void *make_ctl(struct ebb_root *root, unsigned core) { (void)root, (void)core; return &the_ctl; }
E2E_CTL_ROOT(ctl_root, make_ctl);

static void server(void)
{
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    ebb_bind(SAMPLE_ID, &sample_root);
    ebb_bind(CTL_ID, &ctl_root);
}

/* ---- node 65535: the client ---- */

static uint16_t port0;

static int result(ebb_future_t f, uint64_t *v)
{
    uint64_t dummy;
    return ebb_future_block(f, v ? v : &dummy);
}

static int other_core_ok;
static void from_core1(void *arg)
{
    ebb_promise_t p = arg;
    uint64_t v = 0, w = 0;
    int e1 = result(sample_add_at(0, SAMPLE_ID, 40, 2, false), &v);
    int e2 = result(e2e_ctl_where_at(0, CTL_ID), &w);
    other_core_ok = e1 == 0 && v == 42 && e2 == 0 && w >> 8 == 0 && ebb_core() == 1;
    ebb_promise_set(p, 0);
}

static void raw_peer(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port0) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ok(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && raw_handshake(fd, 9, NULL, 0) == 0,
       "raw peer connects to node 0 (the handshake, no cluster key on either side)");
    struct ebb_msg_hdr h = { .len = 0, .dst = SAMPLE_ID, .iface = SAMPLE_IFACE ^ 0xff, .seq = 1,
                             .method = SAMPLE_METHOD_PING, .type = EBB_MSG_CALL,
                             .version = EBB_MSG_VERSION, .src = 9 };
    send_all(fd, &h, sizeof h);
    is(recv_frame(fd, 1, NULL), EPROTO, "a frame with a mismatched interface hash gets an EPROTO error frame");

    h.iface = SAMPLE_IFACE;
    h.seq = 2;
    h.len = EBB_MSG_MAX + 1;
    send_all(fd, &h, sizeof h);
    is(recv_frame(fd, 2, NULL), EMSGSIZE, "an oversized frame gets an EMSGSIZE error frame");
    char *junk = calloc(1, EBB_MSG_MAX + 1);
    memset(junk, 0x5a, EBB_MSG_MAX + 1);
    send_all(fd, junk, EBB_MSG_MAX + 1); /* skipped by node 0 */
    free(junk);

    uint8_t add5[5] = { 1, 2, 3, 4, 5 };
    h.len = sizeof add5;
    h.seq = 3;
    h.method = SAMPLE_METHOD_ADD;
    send_all(fd, &h, sizeof h);
    send_all(fd, add5, sizeof add5);
    is(recv_frame(fd, 3, NULL), EBADMSG, "a truncated add frame gets an EBADMSG error frame");

    uint64_t v = 0;
    h.len = 0;
    h.seq = 4;
    h.method = SAMPLE_METHOD_PING;
    send_all(fd, &h, sizeof h);
    ok(recv_frame(fd, 4, &v) == 0 && v == 1, "after those, the same connection still serves a good call");
    close(fd);
}

static void client(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    ebb_bind(TOP_ID, &sample_root); /* node 0 calls this one back */
    uint64_t v = 0;
    ok(sample_add(TOP_ID, 5, 1, false) == 6 && EBB_ID_NODE(TOP_ID) == ebb_node(),
       "the last id of the last node (%#x), bound here, is called locally", TOP_ID);
    int err = result(sample_add_at(0, SAMPLE_ID, 1000, -3, false), &v);
    ok(err == 0 && v == 997, "add on node 0 through the future (err %d, value %llu)", err, (unsigned long long)v);
    err = result(e2e_ctl_where_at(0, CTL_ID), &v);
    ok(err == 0 && (v >> 8) == 0, "the call was served on node 0 (err %d, where %#llx)", err, (unsigned long long)v);

    /* Buffers both ways. */
    size_t klen = 300000;
    uint8_t *key = malloc(klen);
    for (size_t i = 0; i < klen; i++)
        key[i] = (uint8_t)(i * 7);
    uint32_t vals[3] = { 1, 2, 3 };
    err = result(sample_put_at(0, SAMPLE_ID, key, klen, vals, 3), &v);
    ok(err == 0 && v == klen % 1000 + 3, "put of a 300 kB key (err %d)", err);
    uint8_t out[5000], want[5000];
    err = result(sample_get_at(0, SAMPLE_ID, "node one", out, sizeof out), &v);
    sample_get_local("node one", want, sizeof want);
    ok(err == 0 && v == 8 && !memcmp(out, want, sizeof out), "get fills a 5000-byte output buffer (err %d)", err);
    int64_t vec[4] = { 1, -2, 3, -4 }, vwant[4] = { 1, -2, 3, -4 };
    struct point p = { 2, 3, { 0, 0, 0, 1 } };
    sample_scale_local(vwant, 4, p, BLUE);
    err = result(sample_scale_at(0, SAMPLE_ID, vec, 4, p, BLUE), NULL);
    ok(err == 0 && !memcmp(vec, vwant, sizeof vec), "scale updates an in-out vector (err %d)", err);
    free(key);
    err = result(sample_later_at(0, SAMPLE_ID, 200000), &v);
    ok(err == 0 && v == 400000, "a method served asynchronously (it returns a future) answers (err %d)", err);
    is(result(sample_later_at(0, SAMPLE_ID, 0xdead), NULL), EIO, "its failure code reaches the caller");

    /* Many calls in flight at once. */
    enum { N = 200 };
    static ebb_future_t fs[N];
    static uint64_t vs[N];
    for (int i = 0; i < N; i++)
        fs[i] = sample_add_at(0, SAMPLE_ID, (uint64_t)i * 1000, (int8_t)(i % 100), i & 1);
    err = result(ebb_future_when_all(fs, N, vs), NULL);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += vs[i] != (i & 1 ? (uint64_t)i * 1000 - (uint64_t)(i % 100) : (uint64_t)i * 1000 + (uint64_t)(i % 100));
    ok(err == 0 && bad == 0, "%d calls in flight all complete with their own results", N);

    /* A call from core 1, whose Messenger sockets are on core 0. */
    ebb_promise_t pr;
    ebb_future_t done = ebb_promise_new(&pr);
    ebb_spawn_on(1, from_core1, pr);
    result(done, NULL);
    ok(other_core_ok, "calls made on core 1 are carried and complete on core 1");

    is(result(sample_ping_at(0, EBB_ID(0, 252)), NULL), ENOENT, "a call to an Ebb node 0 has no root for fails with ENOENT");

    /* Node 0 calls back into this node while serving this node's call. It has no address for
     * it: only the connection this node dialled can carry it. */
    err = result(e2e_ctl_relay_at(0, CTL_ID, TOP_NODE, 41), &v);
    ok(err == 0 && v == 42, "node 0 calls the last id of node %u back over that node's connection "
       "(err %d, value %llu)", TOP_NODE, err, (unsigned long long)v);

    raw_peer();

    /* A call still being served when node 0 goes away fails; it does not hang. */
    ebb_future_t pending = sample_later_at(0, SAMPLE_ID, 500000000); /* answers in 0.5 s */
    err = result(e2e_ctl_quit_at(0, CTL_ID, 0), &v);
    ok(err == 0, "node 0 acknowledges quit");
    err = result(pending, &v);
    is(err, ECONNRESET, "a call node 0 had not answered when it exited fails with ECONNRESET (value %llu)", (unsigned long long)v);
    ebb_messenger_stop();
    int n = atomic_load(&tap_n);
    if (write(count_fd, &n, sizeof n) != sizeof n)
        ebb_exit(3);
    ebb_exit(atomic_load(&tap_failed) ? 1 : 0);
}

void app_main(void)
{
    if (role_client)
        ebb_spawn(client, NULL);
    else
        server();
}

int main(int argc, char **argv)
{
    (void)argc;
    tap_plan(23); /* 1 here, 19 made by the client, then 3 here */
    tap_deadline(120);
    port0 = free_port(0);
    uint16_t port1 = free_port(port0);
    if (!ok(port0 && port1, "two free loopback ports (%u, %u)", port0, port1))
        return tap_done();
    char listen0[32], listen1[32], peers0[64], peers1[64];
    snprintf(listen0, sizeof listen0, "listen=%u", port0);
    snprintf(listen1, sizeof listen1, "listen=%u", port1);
    snprintf(peers0, sizeof peers0, "peers=%u@127.0.0.1:%u", TOP_NODE, port1);
    snprintf(peers1, sizeof peers1, "peers=0@127.0.0.1:%u", port0);
    int cnt[2];
    if (pipe(cnt) < 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        tap_deadline(120);
        close(cnt[0]);
        count_fd = cnt[1];
        role_client = 1;
        char node1[16];
        snprintf(node1, sizeof node1, "node=%u", TOP_NODE);
        char *args[] = { argv[0], "cores=2", node1, listen1, peers1, NULL };
        _exit(ebb_run(5, args));
    }
    close(cnt[1]);
    usleep(300000); /* the client's first calls go out before node 0 listens: they wait, queued */
    (void)peers0; /* node 0 is not told where the client is: it answers over its connection */
    char *args[] = { argv[0], "cores=2", "cpu=1", "node=0", listen0, NULL };
    int rc = ebb_run(5, args);
    int st = 0;
    waitpid(pid, &st, 0);
    int n = 0;
    if (read(cnt[0], &n, sizeof n) != sizeof n)
        n = 0;
    atomic_store(&tap_n, n);
    is(rc, 0, "node 0 exits with status 0 when told to quit");
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the client exits with status 0 (status %#x)", st);
    is(n, 20, "the client made all its 19 checks (after the 1 made here before it started)");
    return tap_done();
}
