/* mcload: an open-loop memcached load generator (ASCII protocol).
 *
 * Requests arrive as a Poisson process at `rate` per second, each on a connection chosen at
 * random among `conns`, whether or not earlier ones were answered (so a slow server is charged
 * for the queue it builds: latency runs from the scheduled arrival, not from the send). Keys and
 * values follow Facebook's ETC pool (Atikoglu et al., SIGMETRICS'12): key sizes GEV(30.8, 8.2,
 * 0.078), value sizes generalized Pareto(0, 214.5, 0.348), 1 set per 30 gets, keys uniform over
 * `keys`. Every latency is kept; percentiles are exact (sorted). At the end the server's own
 * stats (cmd_get, cmd_set, get_hits deltas) must equal what we sent and saw.
 *
 *   mcload host=127.0.0.1 port=11211 rate=50000 secs=5 conns=32 keys=100000 [seed=1]
 * prints one line: rate=... achieved=... p50_us=... p99_us=... ... check=ok|MISMATCH */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define MAX_INFLIGHT 4096        /* per connection; beyond it the request is counted as dropped */
#define VALUE_MAX 65536

struct req { uint64_t t0; bool get; };
struct conn {
    int fd;
    char *out; size_t out_len, out_cap;
    char in[1 << 17]; size_t in_len;
    struct req q[MAX_INFLIGHT]; unsigned qh, qn;
};

static const char *host = "127.0.0.1";
static int port = 11211, nconns = 32, nkeys = 100000, secs = 5;
static double rate = 10000;
static uint64_t seed = 1;
static struct conn *conns;
static uint32_t *key_len, *val_len;
static uint64_t *lat;       /* ns, one per completed request */
static size_t nlat, lat_cap;
static uint64_t sent_get, sent_set, done_get, done_set, hits, dropped, errors;
static char valbuf[VALUE_MAX];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static double unif(void) { return ((xr() >> 11) + 0.5) / 9007199254740992.0; }

/* Inverse CDFs of ETC's fits. */
static double gev(double mu, double sigma, double k) { return mu + sigma * (pow(-log(unif()), -k) - 1) / k; }
static double gpareto(double mu, double sigma, double k) { return mu + sigma * (pow(unif(), -k) - 1) / k; }

static int key_of(unsigned id, char *buf)
{
    int n = snprintf(buf, 300, "%u:", id);
    while ((uint32_t)n < key_len[id])
        buf[n++] = 'k';
    return n;
}

static void die(const char *m) { perror(m); exit(2); }

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* A blocking exchange on a fresh connection: stats, preload. */
static void stats_of(uint64_t *get, uint64_t *set, uint64_t *hit)
{
    int fd = dial();
    char buf[1 << 16];
    size_t n = 0;
    if (write(fd, "stats\r\n", 7) != 7)
        die("write");
    while (n < sizeof buf - 1) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            die("read stats");
        n += (size_t)r;
        buf[n] = 0;
        if (strstr(buf, "END\r\n"))
            break;
    }
    char *p;
    *get = (p = strstr(buf, "STAT cmd_get ")) ? strtoull(p + 13, NULL, 10) : 0;
    *set = (p = strstr(buf, "STAT cmd_set ")) ? strtoull(p + 13, NULL, 10) : 0;
    *hit = (p = strstr(buf, "STAT get_hits ")) ? strtoull(p + 14, NULL, 10) : 0;
    close(fd);
}

static void out_add(struct conn *c, const void *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (!c->out)
            die("realloc");
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void append_request(struct conn *c, unsigned id, bool get)
{
    char key[300], line[400];
    int kn = key_of(id, key);
    int n = get ? snprintf(line, sizeof line, "get %.*s\r\n", kn, key)
                : snprintf(line, sizeof line, "set %.*s 0 0 %u\r\n", kn, key, val_len[id]);
    out_add(c, line, (size_t)n);
    if (!get) {
        out_add(c, valbuf, val_len[id]);
        out_add(c, "\r\n", 2);
    }
}

static void flush_out(struct conn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t w = write(c->fd, c->out + off, c->out_len - off);
        if (w < 0) {
            if (errno == EAGAIN)
                break;
            die("write");
        }
        off += (size_t)w;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
}

/* Consumes complete responses from c->in; returns false on a protocol error. */
static bool parse(struct conn *c, uint64_t now)
{
    size_t off = 0;
    while (c->qn) {
        char *p = c->in + off, *e = memmem(p, c->in_len - off, "\r\n", 2);
        if (!e)
            break;
        size_t used;
        bool hit = false;
        if (strncmp(p, "VALUE ", 6) == 0) {
            char *sp = memrchr(p, ' ', (size_t)(e - p));
            size_t vl = strtoul(sp + 1, NULL, 10);
            size_t need = (size_t)(e + 2 - p) + vl + 2 + 5;
            if (c->in_len - off < need)
                break;
            if (memcmp(p + need - 5, "END\r\n", 5))
                return false;
            used = need;
            hit = true;
        } else if (strncmp(p, "END\r\n", 5) == 0 || strncmp(p, "STORED\r\n", 8) == 0) {
            used = (size_t)(e + 2 - p);
        } else {
            return false;
        }
        struct req *r = &c->q[c->qh];
        c->qh = (c->qh + 1) % MAX_INFLIGHT;
        c->qn--;
        if (r->get) { done_get++; hits += hit; } else { done_set++; }
        if (nlat < lat_cap)
            lat[nlat++] = now - r->t0;
        off += used;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return true;
}

static void preload(void)
{
    /* Every key once, pipelined in chunks on one connection, so gets hit. */
    struct conn *c = &conns[0];
    for (int id = 0; id < nkeys;) {
        int n = 0;
        for (; n < 200 && id < nkeys; n++, id++)
            append_request(c, (unsigned)id, false);
        size_t off = 0;
        while (off < c->out_len) {
            ssize_t w = write(c->fd, c->out + off, c->out_len - off);
            if (w < 0) die("preload write");
            off += (size_t)w;
        }
        c->out_len = 0;
        int got = 0;
        char buf[65536];
        size_t have = 0;
        while (got < n) {
            ssize_t r = read(c->fd, buf + have, sizeof buf - have);
            if (r <= 0) die("preload read");
            have += (size_t)r;
            for (char *p; (p = memmem(buf, have, "STORED\r\n", 8)); got++) {
                size_t k = (size_t)(p + 8 - buf);
                memmove(buf, buf + k, have - k);
                have -= k;
            }
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p) { return nlat ? lat[(size_t)(p * (double)(nlat - 1))] / 1000.0 : 0; }

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *v = strchr(argv[i], '=');
        if (!v) { fprintf(stderr, "mcload: expected key=value, got %s\n", argv[i]); return 2; }
        *v++ = 0;
        if (!strcmp(argv[i], "host")) host = v;
        else if (!strcmp(argv[i], "port")) port = atoi(v);
        else if (!strcmp(argv[i], "rate")) rate = atof(v);
        else if (!strcmp(argv[i], "secs")) secs = atoi(v);
        else if (!strcmp(argv[i], "conns")) nconns = atoi(v);
        else if (!strcmp(argv[i], "keys")) nkeys = atoi(v);
        else if (!strcmp(argv[i], "seed")) seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "mcload: unknown key %s\n", argv[i]); return 2; }
    }
    if (nconns < 1 || nconns > MAX_CONNS || rate <= 0 || secs < 1 || nkeys < 1) {
        fprintf(stderr, "mcload: conns 1..%d, rate > 0, secs >= 1, keys >= 1\n", MAX_CONNS);
        return 2;
    }
    rng ^= seed * 0x9e3779b97f4a7c15ull;
    key_len = malloc(sizeof *key_len * (size_t)nkeys);
    val_len = malloc(sizeof *val_len * (size_t)nkeys);
    for (int i = 0; i < nkeys; i++) {
        double k = gev(30.7984, 8.20449, 0.078688), v = gpareto(0, 214.476, 0.348238);
        key_len[i] = (uint32_t)(k < 12 ? 12 : k > 250 ? 250 : k);
        val_len[i] = (uint32_t)(v < 1 ? 1 : v > VALUE_MAX ? VALUE_MAX : v);
    }
    memset(valbuf, 'v', sizeof valbuf);
    lat_cap = (size_t)(rate * secs * 1.2) + 1000;
    lat = malloc(sizeof *lat * lat_cap);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!key_len || !val_len || !lat || !conns)
        die("malloc");
    prctl(PR_SET_TIMERSLACK, 1000UL);
    int ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++)
        conns[i].fd = dial();
    preload();
    for (int i = 0; i < nconns; i++) {
        fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    uint64_t g0, s0, h0;
    stats_of(&g0, &s0, &h0);

    uint64_t start = now_ns(), end = start + (uint64_t)secs * 1000000000ull;
    double next = (double)start;
    bool *dirty = calloc((size_t)nconns, 1);
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_ns();
        if (now >= end + 2000000000ull)
            break;
        /* Arrivals due by now (their latency counts from the scheduled time). */
        while (next <= (double)now && next < (double)end) {
            struct conn *c = &conns[xr() % (uint64_t)nconns];
            unsigned id = (unsigned)(xr() % (uint64_t)nkeys);
            bool get = xr() % 31 != 0;
            if (c->qn == MAX_INFLIGHT) {
                dropped++;
            } else {
                append_request(c, id, get);
                c->q[(c->qh + c->qn++) % MAX_INFLIGHT] = (struct req){(uint64_t)next, get};
                if (get) sent_get++; else sent_set++;
                dirty[c - conns] = true;
            }
            next += -log(unif()) / rate * 1e9;
        }
        for (int i = 0; i < nconns; i++)
            if (dirty[i] || conns[i].out_len) {
                flush_out(&conns[i]);
                dirty[i] = false;
            }
        bool pending = false;
        for (int i = 0; i < nconns && !pending; i++)
            pending = conns[i].qn != 0;
        if (now >= end && !pending)
            break;
        /* Sleep until the next arrival (or a reply): spinning would take a CPU from the
         * server on a machine with few (a guest's vCPU threads, a hosted server's core). With
         * 1 us of timer slack the wakeup is late by a few microseconds, which the latency
         * (counted from the scheduled arrival) charges to the server. */
        struct timespec wait = {0, 0};
        double ahead = (next < (double)end ? next : (double)end) - (double)now;
        if (ahead > 20e3) {
            wait.tv_sec = (time_t)(ahead / 1e9);
            wait.tv_nsec = (long)(ahead - (double)wait.tv_sec * 1e9);
        } else if (now >= end) {
            wait.tv_nsec = 1000000; /* draining: wait for replies */
        }
        int n = wait.tv_sec || wait.tv_nsec ? epoll_pwait2(ep, evs, 256, &wait, NULL)
                                            : epoll_wait(ep, evs, 256, 0);
        now = now_ns();
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[evs[k].data.u32];
            for (;;) {
                ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
                if (r <= 0)
                    break;
                c->in_len += (size_t)r;
                if (!parse(c, now)) {
                    errors++;
                    fprintf(stderr, "mcload: bad response: %.40s\n", c->in);
                    return 1;
                }
                if (c->in_len == sizeof c->in) { errors++; return 1; }
            }
        }
    }
    uint64_t elapsed = now_ns() - start;
    uint64_t lost = 0;
    for (int i = 0; i < nconns; i++)
        lost += conns[i].qn;
    uint64_t g1, s1, h1;
    stats_of(&g1, &s1, &h1);
    bool check = g1 - g0 == done_get && s1 - s0 == done_set && h1 - h0 == hits;
    if (lost) /* unanswered requests may or may not have reached the server */
        check = g1 - g0 >= done_get && s1 - s0 >= done_set;
    qsort(lat, nlat, sizeof *lat, cmp_u64);
    double achieved = (double)nlat / ((double)(end - start) / 1e9);
    printf("rate=%.0f achieved=%.0f sent=%llu done=%zu dropped=%llu lost=%llu hits=%llu "
           "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f elapsed_s=%.2f "
           "server_gets=%llu server_sets=%llu server_hits=%llu check=%s\n",
           rate, achieved, (unsigned long long)(sent_get + sent_set), nlat,
           (unsigned long long)dropped, (unsigned long long)lost, (unsigned long long)hits,
           pct(0.5), pct(0.9), pct(0.99), pct(0.999), nlat ? lat[nlat - 1] / 1000.0 : 0,
           elapsed / 1e9, (unsigned long long)(g1 - g0), (unsigned long long)(s1 - s0),
           (unsigned long long)(h1 - h0), check ? "ok" : "MISMATCH");
    return check ? 0 : 1;
}
