/* Generated marshalling and dispatch (tests/gen/sample.ebb.h): random arguments up to the maximum
 * lengths make the round trip stub -> frame -> dispatcher -> rep -> reply -> future unchanged
 * (the Messenger serves a call to its own node through the same code); the dispatcher rejects
 * truncated, oversized and malformed frames, and ebb_msg_serve() frames for a wrong interface,
 * a wrong version or an Ebb without a root, answering with an error frame instead of crashing.
 * Runs hosted and native (the same generated code; natively the Messenger has no transport yet,
 * so only this node is reachable). */
#include "core/config.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/messenger.h"
#include "tap.h"
#include "tests/gen/sample.gen.h"
#include "tests/sample_rep.h"
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

static ebb_id_t id;
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}
static void fill(void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)p)[i] = (uint8_t)rnd();
}
static int result(ebb_future_t f, uint64_t *v)
{
    uint64_t dummy;
    return ebb_future_block(f, v ? v : &dummy);
}

/* ---- round trips ---- */

static void round_trips(void)
{
    unsigned node = ebb_node();
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        uint64_t a = rnd(), v;
        int8_t b = (int8_t)rnd();
        bool neg = rnd() & 1;
        if (result(sample_add_at(node, id, a, b, neg), &v) || v != sample_add(id, a, b, neg))
            bad++;
    }
    is(bad, 0, "add: 300 random calls give the local result");

    /* put: random lengths; the largest fill the frame exactly. */
    struct srep *r = sample_rep(id);
    bad = 0;
    size_t maxk = EBB_MSG_MAX - 16 - EBB_MSG_ALIGN(65535u * 4);
    uint8_t *key = malloc(EBB_MSG_MAX);
    uint32_t *vals = malloc(65535u * 4);
    for (int i = 0; i < 60; i++) {
        size_t klen = i == 0 ? maxk : i == 1 ? 0 : rnd() % (i < 10 ? maxk : 300);
        uint16_t nvals = i == 0 ? 65535 : (uint16_t)(rnd() % (i < 10 ? 65536 : 50));
        fill(key, klen);
        fill(vals, nvals * 4u);
        uint64_t v;
        r->put_sum = 0;
        int err = result(sample_put_at(node, id, key, klen, vals, nvals), &v);
        if (err || (int)v != (int)(klen % 1000) + nvals
            || r->put_sum != (sample_checksum(key, klen) ^ sample_checksum((uint8_t *)vals, nvals * 4u))) {
            bad++;
            diag("put klen %zu nvals %u: err %d", klen, nvals, err);
        }
    }
    is(bad, 0, "put: 60 random buffers (up to a full %u-byte frame) arrive intact", EBB_MSG_MAX);
    is(result(sample_put_at(node, id, key, maxk + 1, vals, 65535), NULL), EMSGSIZE,
       "put: one byte over the maximum fails with EMSGSIZE");
    is(result(sample_put_at(node, id, key, (size_t)-1, vals, 1), NULL), EMSGSIZE,
       "put: a length of SIZE_MAX fails with EMSGSIZE (no overflow)");

    /* get: a string in, an output buffer back. */
    bad = 0;
    size_t maxcap = EBB_MSG_MAX - 8;
    uint8_t *buf = malloc(maxcap + 1), *want = malloc(maxcap + 1);
    char name[100];
    for (int i = 0; i < 60; i++) {
        size_t nl = rnd() % (sizeof name);
        for (size_t k = 0; k < nl; k++)
            name[k] = (char)(1 + rnd() % 255);
        name[nl] = 0;
        size_t cap = i == 0 ? maxcap : rnd() % (i < 5 ? maxcap : 2000);
        memset(buf, 0xee, cap + 1);
        uint64_t v;
        int err = result(sample_get_at(node, id, name, buf, cap), &v);
        sample_get_local(name, want, cap);
        if (err || v != nl || memcmp(buf, want, cap) || buf[cap] != 0xee) {
            bad++;
            diag("get cap %zu: err %d", cap, err);
        }
    }
    is(bad, 0, "get: 60 random strings and output buffers (up to the maximum reply)");
    is(result(sample_get_at(node, id, "x", buf, maxcap + 1), NULL), EMSGSIZE,
       "get: an output buffer one byte over what a reply can carry fails with EMSGSIZE");

    /* scale: in-out buffer, a struct and an enum by value. */
    bad = 0;
    size_t maxn = (EBB_MSG_MAX - EBB_MSG_ALIGN(4 + sizeof(struct point) + 4)) / 8;
    int64_t *vec = malloc(maxn * 8), *exp = malloc(maxn * 8);
    for (int i = 0; i < 40; i++) {
        unsigned n = i == 0 ? (unsigned)maxn : (unsigned)(rnd() % (i < 5 ? maxn : 100));
        struct point p = { (int32_t)(rnd() % 100), (int32_t)(rnd() % 100), { 1, 2, 3, (uint8_t)rnd() } };
        enum color c = (enum color)(rnd() % 3);
        fill(vec, n * 8u);
        memcpy(exp, vec, n * 8u);
        sample_scale_local(exp, n, p, c);
        int err = result(sample_scale_at(node, id, vec, n, p, c), NULL);
        if (err || memcmp(vec, exp, n * 8u)) {
            bad++;
            diag("scale n %u: err %d", n, err);
        }
    }
    is(bad, 0, "scale: 40 random in-out vectors, structs and enums");
    uint64_t v = 0;
    ok(result(sample_ping_at(node, id), &v) == 0 && v == 1, "ping: no arguments, bool result");
    ok(result(sample_later_at(node, id, 300000), &v) == 0 && v == 600000,
       "later: a method returning a future is served when its future completes");
    is(result(sample_later_at(node, id, 0xdead), &v), EIO, "later: its failure reaches the caller's future");
    is(result(sample_ping_at(node, EBB_ID(0, 4000)), NULL), ENOENT,
       "a call to an Ebb with no root fails with ENOENT");
    is(result(sample_ping_at(EBB_MAX_NODES - 1, id), NULL), EHOSTUNREACH,
       "a call to an unknown node fails with EHOSTUNREACH");
    free(key), free(vals), free(buf), free(want), free(vec), free(exp);
}

/* ---- the dispatcher on bad frames ---- */

static int dispatch(unsigned method, const void *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
    memcpy(copy, p, n);
    struct iobuf *reply = NULL;
    int r = sample_dispatch(id, method, copy, n, &reply);
    if ((r == 0) != (reply != NULL))
        r = -9999;
    iobuf_free(reply);
    free(copy);
    return r;
}


static void dispatcher_rejects(void)
{
    /* add(a, b, neg): 8 + 1 + 1 bytes. */
    uint8_t p[64] = { 0 };
    uint64_t a = 5;
    memcpy(p, &a, 8);
    p[8] = 3;
    is(dispatch(SAMPLE_METHOD_ADD, p, 10), 0, "a well-formed add frame is served");
    int bad = 0;
    for (size_t n = 0; n < 10; n++)
        bad += dispatch(SAMPLE_METHOD_ADD, p, n) != -EBADMSG;
    is(bad, 0, "every truncation of an add frame is rejected with EBADMSG");
    is(dispatch(SAMPLE_METHOD_ADD, p, 11), -EBADMSG, "an add frame with a trailing byte is rejected");
    is(dispatch(SAMPLE_NMETHODS + 3, p, 10), -ENOSYS, "an unknown method is rejected with ENOSYS");
    is(dispatch(SAMPLE_METHOD_RESET, p, 0), -ENOSYS, "a local-only method cannot be called remotely");

    /* put(klen, nvals | key | vals): lengths that claim more than the frame holds. */
    uint64_t klen = 4;
    uint16_t nvals = 2;
    memset(p, 0, sizeof p);
    memcpy(p, &klen, 8);
    memcpy(p + 8, &nvals, 2);
    is(dispatch(SAMPLE_METHOD_PUT, p, 16 + 8 + 8), 0, "a well-formed put frame is served");
    is(dispatch(SAMPLE_METHOD_PUT, p, 16 + 8 + 7), -EBADMSG, "put: vals cut short is rejected");
    is(dispatch(SAMPLE_METHOD_PUT, p, 16 + 8 + 9), -EBADMSG, "put: a longer frame than its lengths say is rejected");
    klen = UINT64_MAX;
    memcpy(p, &klen, 8);
    is(dispatch(SAMPLE_METHOD_PUT, p, 32), -EBADMSG, "put: a key length of 2^64-1 is rejected (no overflow)");
    klen = EBB_MSG_MAX;
    memcpy(p, &klen, 8);
    is(dispatch(SAMPLE_METHOD_PUT, p, 32), -EBADMSG, "put: a key longer than the frame is rejected");

    /* get(cap | u32 len, name): the string must be NUL-terminated inside the frame. */
    uint64_t cap = 4;
    memset(p, 0, sizeof p);
    memcpy(p, &cap, 8);
    uint32_t sl = 3;
    memcpy(p + 8, &sl, 4);
    memcpy(p + 12, "ab", 3);
    is(dispatch(SAMPLE_METHOD_GET, p, 15), 0, "a well-formed get frame is served");
    p[14] = 'c';
    is(dispatch(SAMPLE_METHOD_GET, p, 15), -EBADMSG, "get: a string without its NUL is rejected");
    sl = 0;
    memcpy(p + 8, &sl, 4);
    is(dispatch(SAMPLE_METHOD_GET, p, 12), -EBADMSG, "get: an empty string length is rejected");
    sl = 100;
    memcpy(p + 8, &sl, 4);
    is(dispatch(SAMPLE_METHOD_GET, p, 15), -EBADMSG, "get: a string longer than the frame is rejected");
    sl = 3;
    memcpy(p + 8, &sl, 4);
    p[14] = 0;
    cap = EBB_MSG_MAX;
    memcpy(p, &cap, 8);
    is(dispatch(SAMPLE_METHOD_GET, p, 15), -EMSGSIZE, "get: an output buffer over the maximum reply is rejected (EMSGSIZE)");

    /* Random garbage for every method: an error or a reply, never a crash (ASan build too). */
    uint8_t junk[256];
    bad = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = rnd() % sizeof junk;
        fill(junk, n);
        if (rnd() % 4 == 0 && n >= 8)
            memset(junk, 0, 8); /* small lengths, so some frames get past the first checks */
        int r = dispatch((unsigned)(rnd() % (SAMPLE_NMETHODS + 1)), junk, n);
        bad += r != 0 && r != -EBADMSG && r != -ENOSYS;
    }
    is(bad, 0, "4000 random frames: each served or rejected cleanly");
}

/* ---- ebb_msg_serve: the checks before the dispatcher ---- */

static int serve_err(struct ebb_msg_hdr h, uint8_t *payload)
{
    struct iobuf *r = ebb_msg_serve(&h, payload);
    if (!r)
        return -1;
    struct ebb_msg_hdr rh;
    memcpy(&rh, r->data, sizeof rh);
    int e = rh.type == EBB_MSG_ERROR ? rh.err : rh.type == EBB_MSG_REPLY ? 0 : -2;
    if (rh.seq != h.seq || rh.len != r->len - sizeof rh)
        e = -3;
    iobuf_free(r);
    return e;
}

static struct ebb_root other_root = { .name = "other", .iface = 0x1234, .kind = EBB_SHARED };

static void serve_checks(void)
{
    uint8_t p[16] = { 1 };
    struct ebb_msg_hdr h = { .len = 0, .dst = id, .iface = SAMPLE_IFACE, .seq = 77,
                             .method = SAMPLE_METHOD_PING, .type = EBB_MSG_CALL,
                             .version = EBB_MSG_VERSION, .src = 3 };
    is(serve_err(h, p), 0, "a good ping frame gets a reply echoing its seq");
    struct ebb_msg_hdr x = h;
    x.iface ^= 1;
    is(serve_err(x, p), EPROTO, "a frame with another interface hash gets EPROTO");
    x = h;
    x.iface = TINY_IFACE;
    is(serve_err(x, p), EPROTO, "a frame for an interface without remote methods gets EPROTO");
    ebb_id_t other = ebb_id_alloc();
    ebb_bind(other, &other_root);
    x = h;
    x.dst = other;
    is(serve_err(x, p), EPROTO, "a frame for an Ebb bound to another interface gets EPROTO");
    x = h;
    x.dst = EBB_ID(0, 4001);
    is(serve_err(x, p), ENOENT, "a frame for an Ebb with no root gets ENOENT");
    x = h;
    x.dst = EBB_ID(EBB_MAX_NODES - 1, EBB_MAX_INDEX - 1);
    is(serve_err(x, p), ENOENT, "a frame for the last id of the space, unbound, gets ENOENT");
    x = h;
    x.version = 9;
    is(serve_err(x, p), EPROTO, "a frame of another wire version gets EPROTO");
    x = h;
    x.len = EBB_MSG_MAX + 1;
    is(serve_err(x, NULL), EMSGSIZE, "an oversized frame gets EMSGSIZE");
    x = h;
    x.len = 3;
    is(serve_err(x, p), EBADMSG, "a ping frame with stray bytes gets EBADMSG");
}

/* peers= numbers are checked whole: nothing wraps into a valid port or node. */
static void config_rejects(void)
{
    static char *bad[] = {"peers=1@127.0.0.1:4294967297", "peers=4294967297@127.0.0.1:7000",
                          "peers=1@127.0.0.1:70000", "peers=1@127.0.0.1:+80", "peers=1@127.0.0.1:0"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128];
        ebb_config_parse(1, &bad[i], err, sizeof err);
        is(ebb_messenger_configure(), -EINVAL, "%s is refused", bad[i]);
    }
}

static void tests(void *arg)
{
    (void)arg;
    id = ebb_id_alloc();
    ebb_bind(id, &sample_root);
    round_trips();
    dispatcher_rejects();
    serve_checks();
    config_rejects();
    ebb_exit(tap_done());
}

void app_main(void) { ebb_spawn(tests, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
    tap_plan(42);
#ifdef EBB_HOSTED
    tap_deadline(120);
#endif
    const char *seed = getenv("SEED");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rnd_state = seed ? strtoull(seed, NULL, 0) : (uint64_t)ts.tv_nsec * 2654435761u + (uint64_t)ts.tv_sec + 1;
    diag("SEED=%llu", (unsigned long long)rnd_state);
    char *args[] = { argv[0], "cores=1", NULL };
    return ebb_run(2, args);
}
