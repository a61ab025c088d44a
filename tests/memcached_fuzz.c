/* The memcached protocol parsers without the network: a libFuzzer target (built by `make fuzz`
 * with clang, -DFUZZ_PROTO=1 ASCII or 2 binary) and, in make test, a replay of seed requests and
 * of many random mutations of them, fed in random-size pieces (so requests straddle buffers),
 * checking that every reply is well formed and nothing crashes (the ASan build catches the rest).
 * The store runs here on one thread; the platform below it is stubbed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "apps/memcached/mc.h"

/* ---- the platform the store needs, for one thread ---- */
struct mc_settings mc_settings = {.mem_limit = 4 << 20, .item_max = 1 << 20, .port = 11211,
                                  .cores = 1, .evictions = true};
static struct mc_counters counters;
static uint64_t fake_ns = 1;
unsigned mc_core(void) { return 0; }
unsigned mc_ncores(void) { return 1; }
uint64_t mc_mono_ns(void) { return fake_ns += 1000; }
int64_t mc_unix_now(void) { return 1700000000; }
void mc_defer(void (*fn)(void *), void *arg) { fn(arg); } /* no concurrent readers here */
struct mc_counters *mc_counters_here(void) { return &counters; }
void mc_counters_sum(struct mc_counters *out) { *out = counters; }
void mc_stats_reset(void) { memset(&counters, 0, sizeof counters); }
void mc_process_stats(mc_stat_fn fn, void *arg) { fn(arg, "pid", "1"); }

static int initialized;

/* Feeds data in pieces whose sizes come from `cuts`; returns the replies as one buffer. */
static uint8_t *run(enum mc_proto proto, const uint8_t *data, size_t n, unsigned cuts,
                    size_t *out_len, bool *closed)
{
    if (!initialized) {
        mc_store_init(mc_settings.mem_limit);
        initialized = 1;
    }
    struct mc_session s = {.proto = proto};
    struct iobuf *in = NULL;
    struct mc_out o = {0};
    size_t at = 0;
    while (at < n && !s.close) {
        size_t k = 1 + (cuts = cuts * 1103515245u + 12345u) % 700;
        if (k > n - at)
            k = n - at;
        struct iobuf *b = iobuf_alloc(k, 0);
        memcpy(iobuf_append(b, k), data + at, k);
        at += k;
        in = iobuf_chain_append(in, b);
        mc_process(&s, &in, &o, 1 << 20);
    }
    iobuf_free(in);
    struct iobuf *r = mc_out_take(&o);
    *out_len = r ? iobuf_chain_len(r) : 0;
    uint8_t *flat = malloc(*out_len + 1);
    if (r)
        iobuf_copy_out(r, 0, flat, *out_len);
    iobuf_free(r);
    *closed = s.close;
    return flat;
}

/* Replies well formed: ASCII lines end in \r\n; binary responses chain exactly. */
static bool well_formed(enum mc_proto proto, const uint8_t *p, size_t n)
{
    if (proto == MC_PROTO_ASCII)
        return n == 0 || (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
    size_t at = 0;
    while (at + 24 <= n) {
        if (p[at] != 0x81)
            return false;
        uint32_t body = (uint32_t)p[at + 8] << 24 | (uint32_t)p[at + 9] << 16 |
                        (uint32_t)p[at + 10] << 8 | p[at + 11];
        at += 24 + (size_t)body;
    }
    return at == n;
}

#ifndef FUZZ_PROTO
#define FUZZ_PROTO 0
#endif

#if FUZZ_PROTO
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    size_t len;
    bool closed;
    enum mc_proto proto = FUZZ_PROTO == 2 ? MC_PROTO_BINARY : MC_PROTO_ASCII;
    uint8_t *r = run(proto, data, n, n ? data[0] : 0, &len, &closed);
    if (!well_formed(proto, r, len))
        abort();
    free(r);
    return 0;
}
#else
#include "tests/tap.h"

static const char *ascii_seeds[] = {
    "set a 1 0 3\r\nabc\r\nget a b\r\ngets a\r\n",
    "add a 0 0 1\r\nx\r\nreplace a 0 0 1\r\ny\r\nappend a 0 0 2\r\nzz\r\nprepend a 0 0 1\r\nw\r\n",
    "cas a 0 0 1 12345\r\nq\r\nincr n 5\r\ndecr n 1\r\nset n 0 0 2\r\n10\r\nincr n 18446744073709551615\r\n",
    "touch a 10\r\ngat 100 a b\r\ngats 0 a\r\ndelete a\r\ndelete a 0 noreply\r\n",
    "flush_all 10\r\nflush_all\r\nversion\r\nverbosity 1\r\nstats\r\nstats items\r\nstats slabs\r\nstats settings\r\n",
    "get\r\nbogus\r\n\r\nmn\r\nquit\r\n",
    "set big 0 0 2000000\r\nxxxxxxxx\r\n",
    "set k 0 -1 5\r\nhello\r\nset k 4294967295 2592001 0\r\n\r\nget k k k k k k k k k k k\r\n",
    "ms m 3 T10 F5 c k Oab\r\nabc\r\nmg m v s f t c k h l O1 q\r\nmg Zm9v b k v N30 R5 T9\r\n",
    "ms m 2 MA C1 I q\r\nxy\r\nmd m I T5 q\r\nmg m v\r\nmd m C9 k\r\nme m\r\nme Zm9v b\r\n",
    "ma n N0 J10 D5 MD v t c T100 k O2\r\nma n M+ q\r\nmn\r\nms x 1 MX\r\nx\r\nmg x x x\r\n",
};

static size_t binary_seed(uint8_t *b, uint8_t op, const char *key, uint8_t extlen, const char *val)
{
    size_t kl = strlen(key), vl = strlen(val), body = kl + extlen + vl;
    memset(b, 0, 24 + extlen);
    b[0] = 0x80;
    b[1] = op;
    b[3] = (uint8_t)kl;
    b[4] = extlen;
    b[11] = (uint8_t)body;
    b[12] = 0xab;
    memcpy(b + 24 + extlen, key, kl);
    memcpy(b + 24 + extlen + kl, val, vl);
    return 24 + body;
}

static void mutate(uint8_t *p, size_t *n, size_t cap, unsigned *seed)
{
    unsigned k = 1 + rand_r(seed) % 8;
    for (unsigned i = 0; i < k && *n; i++) {
        size_t at = (size_t)rand_r(seed) % *n;
        switch (rand_r(seed) % 5) {
        case 0: p[at] = (uint8_t)rand_r(seed); break;
        case 1: p[at] ^= (uint8_t)(1u << (rand_r(seed) % 8)); break;
        case 2: if (*n < cap) { memmove(p + at + 1, p + at, *n - at); p[at] = (uint8_t)" \r\n0129"[rand_r(seed) % 7]; (*n)++; } break;
        case 3: memmove(p + at, p + at + 1, *n - at - 1); (*n)--; break;
        case 4: *n = at + 1; break;
        }
    }
}

int main(void)
{
    tap_plan(5);
    tap_deadline(120);
    uint8_t bin[8192];
    size_t bn = 0;
    const uint8_t ops[] = {0x01, 0x00, 0x0c, 0x02, 0x03, 0x0e, 0x0f, 0x05, 0x06, 0x1c, 0x1d, 0x23,
                           0x04, 0x09, 0x0d, 0x11, 0x19, 0x0a, 0x0b, 0x10, 0x08, 0x42, 0x07};
    for (size_t i = 0; i < sizeof ops; i++) {
        uint8_t op = ops[i];
        uint8_t ext = op == 0x01 || op == 0x02 || op == 0x03 || op == 0x11 ? 8
                    : op == 0x05 || op == 0x06 ? 20 : op == 0x1c || op == 0x1d || op == 0x23 ? 4 : 0;
        bool store = ext == 8 || op == 0x0e || op == 0x0f || op == 0x19;
        bn += binary_seed(bin + bn, op, op >= 0x07 && op <= 0x0b && op != 0x09 ? "" : "key",
                          ext, store ? "1234" : "");
    }
    size_t len;
    bool closed;
    bool good = true;
    for (size_t i = 0; i < sizeof ascii_seeds / sizeof *ascii_seeds; i++) {
        uint8_t *r = run(MC_PROTO_ASCII, (const uint8_t *)ascii_seeds[i], strlen(ascii_seeds[i]), (unsigned)i, &len, &closed);
        good &= well_formed(MC_PROTO_ASCII, r, len) && len > 0;
        free(r);
    }
    ok(good, "ASCII seed requests answered, replies end in CRLF");
    uint8_t *r = run(MC_PROTO_BINARY, bin, bn, 7, &len, &closed);
    ok(well_formed(MC_PROTO_BINARY, r, len) && len >= 24 * 20,
       "binary seed requests (every opcode) answered with well-formed responses (%zu bytes)", len);
    free(r);

    unsigned seed = (unsigned)time(NULL);
    diag("mutation seed %u", seed);
    int bad_ascii = 0, bad_bin = 0;
    static uint8_t buf[16384];
    for (int i = 0; i < 20000; i++) {
        bool b = i % 2;
        size_t n;
        if (b) {
            n = bn < sizeof buf ? bn : sizeof buf;
            memcpy(buf, bin, n);
        } else {
            const char *s = ascii_seeds[rand_r(&seed) % (sizeof ascii_seeds / sizeof *ascii_seeds)];
            n = strlen(s);
            memcpy(buf, s, n);
        }
        mutate(buf, &n, sizeof buf, &seed);
        enum mc_proto p = b ? MC_PROTO_BINARY : MC_PROTO_ASCII;
        r = run(p, buf, n, (unsigned)i, &len, &closed);
        if (!well_formed(p, r, len)) {
            if (b) bad_bin++; else bad_ascii++;
        }
        free(r);
    }
    is(bad_ascii, 0, "10000 mutated ASCII inputs: no crash, every reply well formed");
    is(bad_bin, 0, "10000 mutated binary inputs: no crash, every reply well formed");
    struct mc_store_stats st;
    mc_store_stats(&st);
    ok(st.bytes <= mc_settings.mem_limit, "held bytes within memory= after it all (%llu)",
       (unsigned long long)st.bytes);
    return tap_done();
}
#endif
