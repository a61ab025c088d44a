/* The front end's unix-socket switch (platform/hosted/switch.c, docs/cluster.md), with fake QEMUs:
 * unix-socket clients speaking its framing (4-byte big-endian length, then the frame) from a
 * thread of their own, while the switch runs in the event loop with this project's stack on its
 * local port. Flooding, learning, the local port answering ARP, and the bounds a hostile port
 * meets: runts, a port that never reads, a length that is no frame; uplinks (TCP ports on
 * loopback, the same framing), at most 16. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "core/event.h"
#include "ebb_hosted.h"
#include "net/stack.h"
#include "net_hosted.h"
#include "tap.h"

static char path[108];
static uint16_t uplink_port;
static struct eth_switch *sw;
static struct net_stack *volatile stack; /* lives to the end (stacks are never freed) */
static int done_pipe[2];
static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0xa}, mac_b[6] = {2, 0, 0, 0, 0, 0xb},
                     mac_c[6] = {2, 0, 0, 0, 0, 0xc}, mac_x[6] = {2, 0, 0, 0, 0, 0x99},
                     bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                     mac_d[6] = {2, 0, 0, 0, 0, 0xd}, mac_u[6] = {2, 0, 0, 0, 0, 0x55},
                     local_mac[6] = {2, 0xeb, 0, 0, 0, 1};

static int port_open(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? fd : -1;
}

static int uplink_open(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(uplink_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? fd : -1;
}

static void put_frame(int fd, const uint8_t *dst, const uint8_t *src, uint16_t type, size_t len)
{
    uint8_t b[4 + 2048] = {0};
    b[0] = 0, b[1] = 0, b[2] = (uint8_t)(len >> 8), b[3] = (uint8_t)len;
    memcpy(b + 4, dst, 6);
    memcpy(b + 10, src, 6);
    b[16] = (uint8_t)(type >> 8), b[17] = (uint8_t)type;
    ssize_t w = send(fd, b, 4 + len, MSG_NOSIGNAL);
    (void)w;
}

static bool read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* The next frame on fd (length, or -1 after 5 s or EOF); its bytes into f. */
static long get_frame(int fd, uint8_t *f, size_t cap)
{
    uint8_t h[4];
    if (!read_all(fd, h, 4))
        return -1;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n > cap || !read_all(fd, f, n))
        return -1;
    return (long)n;
}

/* Nothing arrives on fd within ms. */
static bool quiet(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static void *fake_qemus(void *arg)
{
    (void)arg;
    uint8_t f[2048];
    int a = port_open(), b = port_open();
    ok(a >= 0 && b >= 0, "two fake QEMUs connect to the switch's socket");

    put_frame(a, bcast, mac_a, 0x88b5, 60);
    long n = get_frame(b, f, sizeof f);
    ok(n == 60 && !memcmp(f, bcast, 6) && !memcmp(f + 6, mac_a, 6), "a broadcast from A reaches B whole");
    put_frame(b, mac_a, mac_b, 0x88b5, 100);
    n = get_frame(a, f, sizeof f);
    ok(n == 100 && !memcmp(f + 6, mac_b, 6), "B's frame to A's learned address reaches A");
    put_frame(a, mac_x, mac_a, 0x88b5, 70);
    n = get_frame(b, f, sizeof f);
    ok(n == 70 && !memcmp(f, mac_x, 6), "a frame to an unknown address is flooded");
    put_frame(b, mac_a, mac_b, 0x88b5, 61);
    ok(quiet(b, 200) && get_frame(a, f, sizeof f) == 61, "a unicast goes to its port only");

    /* The local port: this project's stack at 10.254.0.1 answers A's ARP request. */
    uint8_t arp[4 + 42] = {0, 0, 0, 42};
    uint8_t *e = arp + 4;
    memcpy(e, bcast, 6), memcpy(e + 6, mac_a, 6), e[12] = 0x08, e[13] = 0x06;
    uint8_t body[28] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(body + 8, mac_a, 6);
    body[14] = 10, body[15] = 254, body[16] = 0, body[17] = 2;
    body[24] = 10, body[25] = 254, body[26] = 0, body[27] = 1;
    memcpy(e + 14, body, 28);
    ssize_t w = send(a, arp, sizeof arp, MSG_NOSIGNAL);
    (void)w;
    bool answered = false;
    for (int i = 0; i < 5 && !answered; i++) {
        n = get_frame(a, f, sizeof f);
        answered = n >= 42 && !memcmp(f + 6, local_mac, 6) && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2;
    }
    ok(answered, "the stack on the local port answers an ARP request for 10.254.0.1");
    while (!quiet(b, 100))
        get_frame(b, f, sizeof f); /* the flooded request */

    uint8_t runt[4 + 8] = {0, 0, 0, 8};
    w = send(a, runt, sizeof runt, MSG_NOSIGNAL);
    ok(quiet(b, 200), "a runt is not forwarded");

    /* A port that never reads: what is queued for it stays bounded, the others go on. */
    int c = port_open();
    put_frame(c, bcast, mac_c, 0x88b5, 60);
    get_frame(a, f, sizeof f), get_frame(b, f, sizeof f);
    for (int i = 0; i < 5000; i++)
        put_frame(a, mac_c, mac_a, 0x88b5, 1500);
    put_frame(a, mac_b, mac_a, 0x88b5, 64);
    ok(get_frame(b, f, sizeof f) == 64, "7.5 MB sent to a port that never reads: B still gets its frame");

    /* A length that is no frame closes that port. */
    uint8_t bad[4] = {0x7f, 0xff, 0xff, 0xff};
    w = send(b, bad, 4, MSG_NOSIGNAL);
    ok(get_frame(b, f, sizeof f) < 0, "a 2 GB length closes B's port");
    put_frame(a, bcast, mac_a, 0x88b5, 60);

    /* Uplinks: TCP ports with the same framing; a 17th is refused. */
    int d = port_open(), u[17];
    for (int i = 0; i < 17; i++)
        u[i] = uplink_open();
    put_frame(u[0], bcast, mac_u, 0x88b5, 80);
    bool got = false;
    for (int i = 0; i < 20 && !got && (n = get_frame(d, f, sizeof f)) >= 0; i++)
        got = n == 80 && !memcmp(f + 6, mac_u, 6);
    ok(got, "a frame from an uplink reaches a unix port");
    put_frame(d, mac_u, mac_d, 0x88b5, 90);
    got = false;
    for (int i = 0; i < 20 && !got && (n = get_frame(u[0], f, sizeof f)) >= 0; i++)
        got = n == 90 && !memcmp(f + 6, mac_d, 6);
    ok(got, "a frame to the address learned on the uplink goes back over it");
    ok(u[16] >= 0 && recv(u[16], f, 1, 0) == 0, "a 17th uplink is refused (closed)");
    for (int i = 0; i < 17; i++)
        close(u[i]);
    close(d);
    close(c);
    close(a);
    close(b);
    w = write(done_pipe[1], "x", 1);
    return NULL;
}

static void finish(void *arg, uint32_t events)
{
    (void)arg, (void)events;
    ebb_fd_unwatch(done_pipe[0]);
    struct eth_switch_stats st;
    eth_switch_stats(sw, &st);
    is(st.runts, 1, "one runt counted");
    ok(st.dropped_outq > 0, "frames past the bound for the silent port dropped and counted (%llu)",
       (unsigned long long)st.dropped_outq);
    is(st.bad_length, 1, "one bad length counted");
    is(st.ports_opened, 20, "20 ports opened (4 unix, 16 uplinks)");
    is(st.ports_refused, 1, "one refused (the 17th uplink)");
    eth_switch_close(sw);
    ok(access(path, F_OK) != 0, "closing the switch removes its socket");
    ebb_exit(tap_done());
}

static void start(void *arg)
{
    (void)arg;
    ebb_id_t id;
    int err;
    snprintf(path, sizeof path, "/tmp/net_switch.%d.sock", (int)getpid());
    sw = eth_switch_new(path, local_mac, &id, &err);
    ok(sw != NULL, "a switch on %s", path);
    if (!sw)
        ebb_exit(tap_done());
    struct net_stack_config cfg = {.ip = IP4(10, 254, 0, 1), .prefix = 16, .home_core = ebb_core()};
    stack = net_stack_new(id, &cfg);
    /* A free loopback port for the uplink listener. */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        uplink_port = ntohs(sa.sin_port);
    close(fd);
    is(eth_switch_uplink(sw, true, "127.0.0.1", uplink_port), 0, "the switch takes uplinks on 127.0.0.1:%u",
       uplink_port);
    if (pipe(done_pipe) < 0)
        ebb_exit(tap_done());
    ebb_fd_watch(done_pipe[0], EPOLLIN, finish, NULL);
    pthread_t t;
    pthread_create(&t, NULL, fake_qemus, NULL);
    pthread_detach(t);
}

void app_main(void) { ebb_spawn(start, NULL); }

int main(void)
{
    tap_plan(20);
    tap_deadline(120);
    char *args[] = {"net_switch", "cores=1", NULL};
    return ebb_run(2, args);
}
