/* An application built outside the tree (tests/ebbgen_oot.t): its own Ebbs (kv.ebb.h) and its own
 * allocator (bump.c), checked from inside. Every node checks that each core's mallocs come from
 * the bump allocator, its Ebbs through local calls, and calls to its own node from every core (a
 * future-returning method first, then the call that completes it). Given peer=N, a node also
 * calls node N's Ebbs with every kind of parameter and then stops it. Prints one line per check
 * and "app: all N checks passed" (exit 0) or "app: F of N checks failed" (exit 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bump.h"
#include "core/config.h"
#include "core/event.h"
#include "core/messenger.h"
#include "core/spinlock.h"
#include "kv.gen.h"

/* ---- the reps ---- */

struct waiter {
    ebb_promise_t p;
    struct ebb_timer timer;
    struct kv_rep *kv;
    uint32_t key;
};

struct kv_rep {
    const struct kv *ops;
    int lock;
    char val[64][64];
    size_t len[64];
    struct waiter *waiting[64];
};

static int put_(void *self, uint32_t key, const void *val, size_t len, struct stamp st,
                  bool replace)
{
    struct kv_rep *r = self;
    if (key >= 64 || len > 64 || st.len != len || (!replace && r->len[key]))
        return -1;
    spin_lock(&r->lock);
    memcpy(r->val[key], val, len);
    r->len[key] = len;
    struct waiter *w = r->waiting[key];
    r->waiting[key] = NULL;
    spin_unlock(&r->lock);
    if (w)
        ebb_promise_set(w->p, key * 1000 + len); /* w itself is the timer's to free */
    return (int)len;
}

static size_t get_(void *self, uint32_t key, char *buf, size_t cap)
{
    struct kv_rep *r = self;
    if (key >= 64)
        return 0;
    size_t n = r->len[key] < cap ? r->len[key] : cap;
    memcpy(buf, r->val[key], n);
    return n;
}

static void twice_(void *self, int32_t *v, uint32_t n)
{
    (void)self;
    for (uint32_t i = 0; i < n; i++)
        v[i] *= 2;
}

static size_t name_len_(void *self, const char *name) { (void)self; return strlen(name); }

static uint64_t stamp_sum_(void *self, struct stamp st)
{
    (void)self;
    return st.tag + st.when + st.len;
}

static void wait_expired(void *arg)
{
    struct waiter *w = arg;
    spin_lock(&w->kv->lock);
    bool mine = w->kv->waiting[w->key] == w;
    if (mine)
        w->kv->waiting[w->key] = NULL;
    spin_unlock(&w->kv->lock);
    if (mine)
        ebb_promise_fail(w->p, ETIMEDOUT);
    free(w);
}

static ebb_future_t wait_for_(void *self, uint32_t key, uint32_t ms)
{
    struct kv_rep *r = self;
    struct waiter *w = calloc(1, sizeof *w);
    if (key >= 64 || !w) {
        free(w);
        return ebb_future_failed(EINVAL);
    }
    ebb_future_t f = ebb_promise_new(&w->p);
    w->kv = r;
    w->key = key;
    spin_lock(&r->lock);
    r->waiting[key] = w;
    spin_unlock(&r->lock);
    ebb_timer_start(&w->timer, (uint64_t)ms * 1000000, wait_expired, w);
    return f;
}

/* A stop that comes before this node's own checks are done waits for them (both run on core 0,
 * the Messenger's, one event at a time). */
static bool finished;
static int stop_code = -1;

static void stop_now(void *code)
{
    stop_code = (int)(intptr_t)code;
    if (!finished)
        return;
    ebb_messenger_stop();
    ebb_exit(stop_code);
}
static void stop_(void *self, int32_t code)
{
    (void)self;
    ebb_spawn(stop_now, (void *)(intptr_t)code);
}

static const struct kv kv_ops = {
    put_, get_, twice_, name_len_, stamp_sum_, wait_for_, stop_,
};
static void *kv_create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    struct kv_rep *r = calloc(1, sizeof *r);
    if (r)
        r->ops = &kv_ops;
    return r;
}
KV_ROOT(kv_root, kv_create);

struct where_rep {
    const struct where *ops;
    uint32_t core;
};
static uint32_t core_(void *self) { return ((struct where_rep *)self)->core; }
static const struct where where_ops = { core_ };
static void *where_create(struct ebb_root *root, unsigned core)
{
    (void)root;
    struct where_rep *r = malloc(sizeof *r);
    if (r)
        *r = (struct where_rep){ &where_ops, core };
    return r;
}
WHERE_ROOT(where_root, where_create);

/* ---- checks ---- */

static int checks, failed;
static int print_lock;

static void check(bool cond, const char *what, long long got)
{
    spin_lock(&print_lock);
    checks++;
    failed += !cond;
    printf("%s - node %u core %u: %s (got %lld)\n", cond ? "ok" : "not ok", ebb_node(),
           ebb_core(), what, got);
    fflush(stdout);
    spin_unlock(&print_lock);
}

static long long value(ebb_future_t f)
{
    uint64_t v;
    int err = ebb_future_block(f, &v);
    return err ? -err : (long long)v;
}

static struct stamp stamp(uint8_t tag, uint64_t when, uint16_t len)
{
    struct stamp st; /* padding left as the stack had it: it must not go on the wire */
    st.tag = tag, st.when = when, st.len = len;
    return st;
}

/* On one core: mallocs come from the bump allocator; the Ebbs answer local calls and calls to
 * this node, the future-returning one included. */
static void core_checks(void)
{
    unsigned c = ebb_core();
    uint64_t before = bump_mallocs();
    int mine = 0, n = 0;
    for (int i = 0; i < 50; i++, n += 4) {
        void *a = malloc((size_t)(i * 97 % 3000) + 1), *b = calloc(3, (size_t)i + 1);
        void *d = NULL, *e = realloc(NULL, 40);
        mine += bump_owns(a) + bump_owns(b) + bump_owns(e);
        mine += posix_memalign(&d, 256, 100) == 0 && bump_owns(d) && ((uintptr_t)d & 255) == 0;
        free(a), free(b), free(d), free(e);
    }
    check(mine == n && bump_mallocs() - before >= (uint64_t)n,
          "every malloc, calloc, realloc, posix_memalign is served by the bump allocator", mine);

    uint32_t key = 10 + c;
    ebb_future_t w = kv_wait_for_at(ebb_node(), EBB_ID_KV, key, 20000);
    long long put = value(kv_put_at(ebb_node(), EBB_ID_KV, key, "abc", 3, stamp(1, 2, 3), true));
    check(put == 3, "a put to this node, after starting a wait for it", put);
    long long waited = value(w);
    check(waited == key * 1000 + 3, "the wait started first completes (not ETIMEDOUT)", waited);
    char buf[8] = "";
    size_t got = kv_get(EBB_ID_KV, key, buf, sizeof buf);
    check(got == 3 && !memcmp(buf, "abc", 3), "a local call sees what the call to this node put",
          (long long)got);
    long long who = value(where_core_at(ebb_node(), EBB_ID_WHERE));
    check(who == 0, "a remote method of a per_core Ebb is served by the Messenger's core's rep",
          who);
    check(where_core(EBB_ID_WHERE) == c, "a local call reaches this core's rep", c);
}

static unsigned done_cores;
static void core_entry(void *arg)
{
    (void)arg;
    core_checks();
    __atomic_add_fetch(&done_cores, 1, __ATOMIC_RELEASE);
}

/* Calls node `peer` with every kind of parameter, then stops it. */
static void peer_checks(unsigned peer)
{
    long long v = value(kv_put_at(peer, EBB_ID_KV, 1, "hello", 5, stamp(7, 123456789, 5), true));
    check(v == 5, "put: a buffer, a value, a struct with padding, a bool", v);
    char buf[64] = "";
    v = value(kv_get_at(peer, EBB_ID_KV, 1, buf, sizeof buf));
    check(v == 5 && !memcmp(buf, "hello", 5), "get: an output buffer comes back", v);
    int32_t nums[3] = { 1, -2, 3 };
    v = value(kv_twice_at(peer, EBB_ID_KV, nums, 3));
    check(v == 0 && nums[0] == 2 && nums[1] == -4 && nums[2] == 6, "twice: an in-out buffer",
          nums[1]);
    v = value(kv_name_len_at(peer, EBB_ID_KV, "hello world"));
    check(v == 11, "name_len: a string", v);
    v = value(kv_stamp_sum_at(peer, EBB_ID_KV, stamp(9, 1000000, 2)));
    check(v == 9 + 1000000 + 2, "stamp_sum: every field of a struct with padding", v);
    ebb_future_t w = kv_wait_for_at(peer, EBB_ID_KV, 5, 20000);
    value(kv_put_at(peer, EBB_ID_KV, 5, "xy", 2, stamp(0, 0, 2), true));
    v = value(w);
    check(v == 5002, "wait_for on the peer completes when the put comes", v);
    v = value(where_core_at(peer, EBB_ID_WHERE));
    check(v == 0, "the peer's per_core Ebb answers from its Messenger's core", v);
    v = value(kv_stop_at(peer, EBB_ID_KV, 0));
    check(v == 0, "the peer is stopped", v);
}

static void finish(void)
{
    if (failed)
        printf("app: %d of %d checks failed\n", failed, checks);
    else
        printf("app: all %d checks passed\n", checks);
    fflush(stdout);
}

static void main_event(void *arg)
{
    (void)arg;
    if (ebb_messenger_configure() < 0)
        ebb_exit(2);
    for (unsigned c = 0; c < ebb_ncores(); c++)
        ebb_spawn_on(c, core_entry, NULL);
    while (__atomic_load_n(&done_cores, __ATOMIC_ACQUIRE) < ebb_ncores())
        value(kv_wait_for(EBB_ID_KV, 63, 10)); /* a pause that lets other events run */
    long long v = value(kv_wait_for_at(ebb_node(), EBB_ID_KV, 62, 20));
    check(v == -ETIMEDOUT, "a wait nobody completes fails with ETIMEDOUT (log=debug says so)", v);
    long peer = ebb_config_int("peer", -1, -1, EBB_MAX_NODES - 1);
    if (peer >= 0)
        peer_checks((unsigned)peer);
    finish();
    finished = true;
    if (!ebb_config_get("listen") || failed)
        ebb_exit(failed ? 1 : 0);
    else if (stop_code >= 0)
        stop_now((void *)(intptr_t)stop_code);
    /* A node that listens serves until its peer stops it. */
}

void app_main(void) { ebb_spawn(main_event, NULL); }
