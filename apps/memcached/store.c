/* The item store: one hash table read without locks; writers take the lock of the key's shard
 * (MC_NSHARDS of them, so cores rarely meet), publish with release stores and free what they
 * unlink after a grace period (mc_defer), so a reader never sees freed memory.
 *
 * Memory: every item counts the bytes it holds (its allocation plus the buffers a kept value
 * pins) against memory=; a store that would pass the bound first evicts. Eviction is CLOCK over
 * per-shard LRU lists: readers only set `accessed` (no lock, no list move); the evictor takes the
 * tail, and an item accessed since it was last looked at gets another round at the head.
 *
 * Values: under MC_INLINE_MAX bytes they live inside the item and GET copies them out; larger
 * ones live in IOBufs that GET sends by reference. A SET whose value fills most of the receive
 * buffers it arrived in keeps those buffers (zero copy); otherwise the value is copied into one
 * exact-size buffer, so a stored item never pins a mostly-empty receive buffer. */
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "apps/memcached/mc.h"
#include "core/spinlock.h"

#define MC_INLINE_MAX 1024
#define BUF_OVERHEAD 64        /* struct iobuf + iobuf_mem + allocator header, per kept buffer */
#define EVICT_SCAN 32          /* items an eviction looks at in one shard before moving on */

struct shard {
    int lock;
    struct mc_item *head, *tail;   /* LRU: head most recent */
    char pad[64 - sizeof(int) - 2 * sizeof(void *)];
};

/* The table grows (doubling) when items pass 1.5 per bucket. Growing links every item into the
 * new table through its other hnext slot, so readers still walking the old table keep intact
 * chains; the old table is freed after a grace period, and only then may the table grow again
 * (which reuses the old slot). */
struct table {
    size_t mask;
    unsigned gen;                 /* which hnext slot its chains use */
    struct mc_item *b[];
};
static struct table *tab;
static int growing;               /* a growth is under way or its old table not yet freed */
#define TABLE_MIN (1u << 16)
#define TABLE_MAX (1u << 26)
static struct shard shards[MC_NSHARDS];
static atomic_size_t mem_used, curr_items;
static atomic_size_t mem_pending;  /* unlinked, waiting for the grace period to be freed */
static atomic_ullong n_evictions, n_reclaimed, n_expired_unfetched, n_evicted_unfetched,
    n_evicted_active, n_outofmemory, n_total_items;
static atomic_uint flush_at;       /* server second: items stored at or before it are gone once it is reached */
static atomic_uint evict_cursor;
static size_t reclaim_cursor;      /* only core 0's timer moves it */
static struct { uint64_t n; char pad[56]; } cas_ctr[256];
static uint64_t start_mono_ns;
static int64_t start_unix;

uint32_t mc_time(void) { return (uint32_t)((mc_mono_ns() - start_mono_ns) / 1000000000u) + 2; }
uint64_t mc_started_unix(void) { return (uint64_t)start_unix; }

uint32_t mc_exptime(int64_t e)
{
    if (e == 0)
        return 0;
    if (e < 0)
        return 1; /* in the past */
    if (e > 60 * 60 * 24 * 30) {
        if (e <= start_unix)
            return 1;
        int64_t rel = e - start_unix;
        return rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel;
    }
    return (uint32_t)e + mc_time();
}

uint32_t mc_hash(const void *key, size_t n)
{
    /* FNV-1a folded through a multiply: keys are short, this is a few cycles a byte. */
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static struct table *table_new(size_t n, unsigned gen)
{
    struct table *t = calloc(1, sizeof *t + n * sizeof(struct mc_item *));
    if (t) {
        t->mask = n - 1;
        t->gen = gen;
    }
    return t;
}

int mc_store_init(size_t mem_limit)
{
    (void)mem_limit;
    tab = table_new(TABLE_MIN, 0);
    if (!tab)
        return -1;
    start_mono_ns = mc_mono_ns();
    start_unix = mc_unix_now() - 2;
    return 0;
}

static bool alive(const struct mc_item *it, uint32_t now, bool *flushed)
{
    uint32_t f = atomic_load_explicit(&flush_at, memory_order_relaxed);
    if (f && it->stored <= f && f <= now) {
        *flushed = true;
        return false;
    }
    *flushed = false;
    uint32_t e = __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
    return e == 0 || e > now;
}

static struct mc_item *find(const char *key, size_t nkey, uint32_t hash)
{
    const struct table *t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
    unsigned g = t->gen;
    for (struct mc_item *it = __atomic_load_n(&t->b[hash & t->mask], __ATOMIC_ACQUIRE); it;
         it = __atomic_load_n(&it->hnext[g], __ATOMIC_ACQUIRE))
        if (it->hash == hash && it->nkey == nkey && memcmp(it->key, key, nkey) == 0)
            return it;
    return NULL;
}

static void item_free(void *arg)
{
    struct mc_item *it = arg;
    if (it->linked == 2)
        atomic_fetch_sub(&mem_pending, it->held);
    iobuf_free(it->val);
    free(it);
}

/* Frees an unlinked item after the grace period; until then its bytes still count. */
static void retire(struct mc_item *it)
{
    it->linked = 2;
    atomic_fetch_sub(&mem_used, it->held);
    atomic_fetch_add(&mem_pending, it->held);
    atomic_fetch_sub(&curr_items, 1);
    mc_defer(item_free, it);
}

static uint64_t next_cas(void)
{
    unsigned c = mc_core() & 255;
    return ++cas_ctr[c].n << 8 | c;
}

/* ---- under the shard lock ---- */

static void lru_unlink(struct shard *s, struct mc_item *it)
{
    if (it->lprev) it->lprev->lnext = it->lnext; else s->head = it->lnext;
    if (it->lnext) it->lnext->lprev = it->lprev; else s->tail = it->lprev;
    it->lprev = it->lnext = NULL;
}

static void lru_push(struct shard *s, struct mc_item *it)
{
    it->lprev = NULL;
    it->lnext = s->head;
    if (s->head) s->head->lprev = it; else s->tail = it;
    s->head = it;
}

static struct mc_item **slot_of(struct mc_item *it)
{
    struct mc_item **pp = &tab->b[it->hash & tab->mask];
    while (*pp != it)
        pp = &(*pp)->hnext[tab->gen];
    return pp;
}

/* Takes `it` out of the table and frees it after the grace period. */
static void unlink_item(struct shard *s, struct mc_item *it)
{
    struct mc_item **pp = slot_of(it);
    __atomic_store_n(pp, it->hnext[tab->gen], __ATOMIC_RELEASE);
    lru_unlink(s, it);
    retire(it);
}

/* Puts `it` in the table, in place of `old` if given. */
static void link_item(struct shard *s, struct mc_item *it, struct mc_item *old)
{
    it->stored = it->atime = mc_time();
    it->cas = next_cas();
    it->linked = 1;
    lru_push(s, it);
    atomic_fetch_add(&mem_used, it->held);
    atomic_fetch_add(&curr_items, 1);
    atomic_fetch_add(&n_total_items, 1);
    if (old) {
        it->hnext[tab->gen] = old->hnext[tab->gen];
        struct mc_item **pp = slot_of(old);
        __atomic_store_n(pp, it, __ATOMIC_RELEASE);
        lru_unlink(s, old);
        retire(old);
    } else {
        struct mc_item **head = &tab->b[it->hash & tab->mask];
        it->hnext[tab->gen] = *head;
        __atomic_store_n(head, it, __ATOMIC_RELEASE);
    }
}

static void reclaim_dead(struct shard *s, struct mc_item *it)
{
    if (!it->fetched)
        atomic_fetch_add(&n_expired_unfetched, 1);
    atomic_fetch_add(&n_reclaimed, 1);
    unlink_item(s, it);
}

/* The live item for key (the shard is locked); a dead one found on the way is reclaimed. */
static struct mc_item *find_live(struct shard *s, const char *key, size_t nkey, uint32_t hash)
{
    struct mc_item *it = find(key, nkey, hash);
    bool flushed;
    if (it && !alive(it, mc_time(), &flushed)) {
        reclaim_dead(s, it);
        return NULL;
    }
    return it;
}

/* ---- growth ---- */

static void old_table_free(void *arg)
{
    free(arg);
    __atomic_store_n(&growing, 0, __ATOMIC_RELEASE);
}

/* Called without a lock held: doubles the table if items outnumber buckets by half. Writers
 * wait (every shard is locked) while the items are relinked; readers go on. */
static void maybe_grow(void)
{
    struct table *old = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
    if (atomic_load(&curr_items) <= (old->mask + 1) + (old->mask + 1) / 2 ||
        old->mask + 1 >= TABLE_MAX || __atomic_exchange_n(&growing, 1, __ATOMIC_ACQUIRE))
        return;
    struct table *t = table_new(2 * (old->mask + 1), old->gen ^ 1);
    if (!t) {
        __atomic_store_n(&growing, 0, __ATOMIC_RELEASE);
        return;
    }
    for (unsigned i = 0; i < MC_NSHARDS; i++)
        spin_lock(&shards[i].lock);
    old = tab; /* no writer can change it now */
    for (size_t b = 0; b <= old->mask; b++)
        for (struct mc_item *it = old->b[b]; it; it = it->hnext[old->gen]) {
            struct mc_item **head = &t->b[it->hash & t->mask];
            it->hnext[t->gen] = *head;
            *head = it;
        }
    __atomic_store_n(&tab, t, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < MC_NSHARDS; i++)
        spin_unlock(&shards[i].lock);
    mc_defer(old_table_free, old);
}

/* ---- eviction ---- */

static bool evict_one(void)
{
    uint32_t now = mc_time();
    for (unsigned tries = 0; tries < MC_NSHARDS; tries++) {
        struct shard *s = &shards[atomic_fetch_add(&evict_cursor, 1) % MC_NSHARDS];
        spin_lock(&s->lock);
        for (unsigned i = 0; i < EVICT_SCAN && s->tail; i++) {
            struct mc_item *it = s->tail;
            bool flushed;
            if (!alive(it, now, &flushed)) {
                reclaim_dead(s, it);
                spin_unlock(&s->lock);
                return true;
            }
            if (it->accessed && i + 1 < EVICT_SCAN && it != s->head) {
                it->accessed = 0; /* a second chance */
                lru_unlink(s, it);
                lru_push(s, it);
                continue;
            }
            atomic_fetch_add(&n_evictions, 1);
            if (!it->fetched)
                atomic_fetch_add(&n_evicted_unfetched, 1);
            if (it->accessed)
                atomic_fetch_add(&n_evicted_active, 1);
            unlink_item(s, it);
            spin_unlock(&s->lock);
            return true;
        }
        spin_unlock(&s->lock);
    }
    return false;
}

/* Makes room for `need` more bytes, counting what waits to be freed: a loaded machine that
 * stretches grace periods makes us evict more, not hold more. False if it cannot (nothing
 * left to evict and too much pending, or evict=0). */
static bool make_room(size_t need)
{
    if (need > mc_settings.mem_limit)
        return false;
    while (atomic_load(&mem_used) + atomic_load(&mem_pending) + need > mc_settings.mem_limit)
        if (!mc_settings.evictions || !evict_one()) {
            /* All that is left is on its way out: go on while that is a little, refuse when
             * grace periods are so slow (a starved core) that a lot waits. */
            if (mc_settings.evictions && atomic_load(&mem_pending) &&
                atomic_load(&mem_pending) <= mc_settings.mem_limit / 4)
                break;
            atomic_fetch_add(&n_outofmemory, 1);
            return false;
        }
    return true;
}

/* ---- building items ---- */

static struct mc_item *item_alloc(const char *key, size_t nkey, uint32_t flags, uint32_t exptime,
                                  size_t nbytes, bool inl)
{
    size_t sz = sizeof(struct mc_item) + nkey + (inl ? nbytes : 0);
    struct mc_item *it = malloc(sz);
    if (!it)
        return NULL;
    memset(it, 0, sizeof *it);
    it->hash = mc_hash(key, nkey);
    it->flags = flags;
    it->exptime = exptime;
    it->nbytes = (uint32_t)nbytes;
    it->nkey = (uint8_t)nkey;
    it->held = sz + BUF_OVERHEAD;
    memcpy(it->key, key, nkey);
    return it;
}

/* A value of n bytes to fill: inline, or one exact buffer. Returns where to write it. */
static uint8_t *item_value_space(struct mc_item *it)
{
    if (it->nbytes < MC_INLINE_MAX)
        return (uint8_t *)it->key + it->nkey;
    it->val = iobuf_alloc(it->nbytes, 0);
    if (!it->val)
        return NULL;
    it->held += it->nbytes + BUF_OVERHEAD;
    return iobuf_append(it->val, it->nbytes);
}

/* Keeps the receive buffers holding v if the value fills most of them. */
static bool keep_buffers(struct mc_item *it, const struct mc_src *v)
{
    const struct iobuf *b = v->chain;
    size_t off = v->off;
    while (off >= b->len) {
        off -= b->len;
        b = b->next;
    }
    size_t caps = 0, left = v->n;
    for (const struct iobuf *p = b; left; p = p->next) {
        size_t take = p->len - off < left ? p->len - off : left;
        caps += p->cap + BUF_OVERHEAD;
        left -= take;
        off = 0;
    }
    if (v->n * 2 < caps)
        return false;
    struct iobuf *whole = iobuf_clone((struct iobuf *)(uintptr_t)v->chain);
    struct iobuf *rest = NULL, *mid = NULL;
    struct iobuf *front = iobuf_chain_split(whole, v->off, &rest);
    iobuf_free(front);
    if (!rest)
        return false;
    mid = iobuf_chain_split(rest, v->n, &whole);
    iobuf_free(whole);
    if (!mid)
        return false;
    it->val = mid;
    it->held += caps;
    return true;
}

static struct mc_item *item_from_src(const char *key, size_t nkey, uint32_t flags,
                                     uint32_t exptime, const struct mc_src *v, bool *zc)
{
    bool inl = v->n < MC_INLINE_MAX;
    struct mc_item *it = item_alloc(key, nkey, flags, exptime, v->n, inl);
    if (!it)
        return NULL;
    *zc = false;
    if (!inl && keep_buffers(it, v)) {
        *zc = true;
        return it;
    }
    uint8_t *dst = item_value_space(it);
    if (!dst) {
        free(it);
        return NULL;
    }
    iobuf_copy_out(v->chain, v->off, dst, v->n);
    return it;
}

void mc_item_copy_value(const struct mc_item *it, uint8_t *dst)
{
    if (it->val)
        iobuf_copy_out(it->val, 0, dst, it->nbytes);
    else
        memcpy(dst, mc_item_inline(it), it->nbytes);
}

/* ---- the operations ---- */

struct mc_item *mc_get(const char *key, size_t nkey, const uint32_t *new_exptime)
{
    uint32_t hash = mc_hash(key, nkey);
    struct mc_item *it = find(key, nkey, hash);
    if (!it)
        return NULL;
    bool flushed;
    if (!alive(it, mc_time(), &flushed)) {
        struct mc_counters *c = mc_counters_here();
        if (flushed) c->get_flushed++; else c->get_expired++;
        struct shard *s = &shards[hash % MC_NSHARDS];
        spin_lock(&s->lock);
        find_live(s, key, nkey, hash);
        spin_unlock(&s->lock);
        return NULL;
    }
    if (new_exptime) {
        struct shard *s = &shards[hash % MC_NSHARDS];
        spin_lock(&s->lock);
        it = find_live(s, key, nkey, hash);
        if (it)
            __atomic_store_n(&it->exptime, *new_exptime, __ATOMIC_RELAXED);
        spin_unlock(&s->lock);
        if (!it)
            return NULL;
    }
    mc_bump(it);
    return it;
}

void mc_bump(struct mc_item *it)
{
    if (!it->accessed)
        it->accessed = 1;
    if (!it->fetched) {
        it->fetched = 1;
    } else {
        /* memcached moves an item's access time on its second fetch and later ones */
        uint32_t now = mc_time();
        if (it->atime != now)
            it->atime = now;
    }
}

/* append/prepend: the old value and the new bytes in one new item. */
static struct mc_item *item_concat(const struct mc_item *old, const struct mc_src *v, bool append)
{
    size_t n = (size_t)old->nbytes + v->n;
    struct mc_item *it = item_alloc(old->key, old->nkey, old->flags, old->exptime, n,
                                    n < MC_INLINE_MAX);
    uint8_t *dst = it ? item_value_space(it) : NULL;
    if (!dst) {
        free(it);
        return NULL;
    }
    if (append) {
        mc_item_copy_value(old, dst);
        iobuf_copy_out(v->chain, v->off, dst + old->nbytes, v->n);
    } else {
        iobuf_copy_out(v->chain, v->off, dst, v->n);
        mc_item_copy_value(old, dst + v->n);
    }
    return it;
}

enum mc_res mc_store(enum mc_op op, const char *key, size_t nkey, uint32_t flags, uint32_t exptime,
                     const struct mc_src *v, uint64_t cas, unsigned how, uint64_t *cas_out)
{
    bool drop = op == MC_SET || (how & MC_STORE_DROP);
    if (mc_too_large(nkey, v->n)) {
        if (drop)
            mc_drop(key, nkey);
        return MC_TOO_LARGE;
    }
    uint32_t hash = mc_hash(key, nkey);
    struct shard *s = &shards[hash % MC_NSHARDS];
    struct mc_item *it = NULL;
    bool zc = false;
    if (op != MC_APPEND && op != MC_PREPEND) {
        it = item_from_src(key, nkey, flags, exptime, v, &zc);
        if (!it || !make_room(it->held)) {
            if (it) item_free(it);
            if (drop)
                mc_drop(key, nkey);
            return MC_NO_MEMORY;
        }
        if (how & MC_STORE_BINKEY)
            it->meta = MC_META_BINKEY;
    }
    spin_lock(&s->lock);
    struct mc_item *old = find_live(s, key, nkey, hash);
    enum mc_res r = MC_STORED;
    if ((op == MC_APPEND || op == MC_PREPEND) && !old) {
        r = MC_NOT_STORED; /* whatever the CAS, as memcached */
    } else if (op == MC_CAS || cas) {
        r = !old ? MC_NOT_FOUND : old->cas == cas ? MC_STORED : MC_EXISTS;
        if (r == MC_EXISTS && it && (how & MC_STORE_STALE_OK) && cas < old->cas) {
            /* ms I: an older writer's value is kept, but marked stale and with the old TTL */
            r = MC_STORED;
            it->exptime = old->exptime;
            it->meta |= MC_META_STALE | (old->meta & MC_META_WON);
        }
        struct mc_counters *c = mc_counters_here();
        if (op == MC_CAS) {
            if (r == MC_NOT_FOUND) c->cas_misses++;
            else if (r == MC_EXISTS) c->cas_badval++;
            else c->cas_hits++;
        }
        if (r == MC_STORED && (op == MC_APPEND || op == MC_PREPEND))
            goto concat;
    } else if (op == MC_ADD && old) {
        r = MC_NOT_STORED;
        old->accessed = 1; /* memcached bumps an item an add failed on */
    } else if ((op == MC_REPLACE || op == MC_APPEND || op == MC_PREPEND) && !old) {
        r = MC_NOT_STORED;
    } else if (op == MC_APPEND || op == MC_PREPEND) {
    concat:
        /* Built under the lock: the old value must not change meanwhile. Room is made after. */
        it = item_concat(old, v, op == MC_APPEND);
        if (!it)
            r = MC_NO_MEMORY;
        else if (mc_too_large(nkey, it->nbytes))
            r = MC_NOT_STORED; /* memcached: the grown item cannot be allocated */
    }
    if (r == MC_STORED) {
        link_item(s, it, old);
        if (cas_out)
            *cas_out = it->cas;
        if (zc)
            mc_counters_here()->zero_copy_sets++;
        it = NULL;
    }
    spin_unlock(&s->lock);
    if (it)
        item_free(it);
    if (r == MC_STORED && (op == MC_APPEND || op == MC_PREPEND))
        make_room(0); /* the concatenated item was added without room made first */
    if (r == MC_STORED)
        maybe_grow();
    return r;
}

void mc_drop(const char *key, size_t nkey)
{
    uint32_t hash = mc_hash(key, nkey);
    struct shard *s = &shards[hash % MC_NSHARDS];
    spin_lock(&s->lock);
    struct mc_item *it = find_live(s, key, nkey, hash);
    if (it)
        unlink_item(s, it);
    spin_unlock(&s->lock);
}

void mc_locked(const char *key, size_t nkey, bool create, mc_locked_fn fn, void *arg)
{
    uint32_t hash = mc_hash(key, nkey);
    struct shard *s = &shards[hash % MC_NSHARDS];
    struct mc_item *fresh = NULL;
    if (create) {
        /* made before the lock: making room may evict from any shard */
        fresh = item_alloc(key, nkey, 0, 0, 0, true);
        if (fresh && !make_room(fresh->held)) {
            item_free(fresh);
            fresh = NULL;
        }
    }
    spin_lock(&s->lock);
    struct mc_item *it = find_live(s, key, nkey, hash);
    bool created = false;
    if (!it && fresh) {
        link_item(s, fresh, NULL);
        it = fresh;
        fresh = NULL;
        created = true;
    }
    enum mc_act a = fn(it, created, arg);
    if (it && a == MC_UNLINK)
        unlink_item(s, it);
    else if (it && a == MC_NEW_CAS)
        __atomic_store_n(&it->cas, next_cas(), __ATOMIC_RELAXED);
    spin_unlock(&s->lock);
    if (fresh)
        item_free(fresh);
    if (created)
        maybe_grow();
}

enum mc_res mc_delete(const char *key, size_t nkey, uint64_t cas)
{
    uint32_t hash = mc_hash(key, nkey);
    struct shard *s = &shards[hash % MC_NSHARDS];
    spin_lock(&s->lock);
    struct mc_item *it = find_live(s, key, nkey, hash);
    enum mc_res r = !it ? MC_NOT_FOUND : cas && it->cas != cas ? MC_EXISTS : MC_DELETED;
    if (r == MC_DELETED)
        unlink_item(s, it);
    spin_unlock(&s->lock);
    struct mc_counters *c = mc_counters_here();
    if (r == MC_NOT_FOUND) c->delete_misses++; else if (r == MC_DELETED) c->delete_hits++;
    return r;
}

/* A decimal value as memcached reads it: digits, then only spaces; must fit 64 bits. */
static bool parse_u64_value(const struct mc_item *it, uint64_t *out)
{
    char buf[32];
    if (it->nbytes == 0 || it->nbytes >= sizeof buf)
        return false;
    mc_item_copy_value(it, (uint8_t *)buf);
    size_t n = it->nbytes, i = 0;
    uint64_t v = 0;
    for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        unsigned d = (unsigned)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (i == 0)
        return false;
    for (; i < n; i++)
        if (buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\n')
            return false;
    *out = v;
    return true;
}

/* A number as an item's value; padded with spaces to `width` when shorter, as memcached
 * rewrites a shrinking value in place (clients compare the length it reports). */
static struct mc_item *item_number(const char *key, size_t nkey, uint32_t flags, uint32_t exptime,
                                   uint64_t v, size_t width)
{
    char num[32];
    size_t n = 0;
    char tmp[24];
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10));
    for (size_t i = 0; i < n; i++)
        num[i] = tmp[n - 1 - i];
    while (n < width && n < sizeof num)
        num[n++] = ' ';
    struct mc_item *it = item_alloc(key, nkey, flags, exptime, n, true);
    if (it)
        memcpy((char *)it->key + nkey, num, n);
    return it;
}

enum mc_res mc_arith(const char *key, size_t nkey, struct mc_arith *a)
{
    bool incr = a->incr;
    uint64_t delta = a->delta, cas = a->cas;
    uint32_t hash = mc_hash(key, nkey);
    struct shard *s = &shards[hash % MC_NSHARDS];
    struct mc_counters *c = mc_counters_here();
    if (!make_room(sizeof(struct mc_item) + nkey + 24 + BUF_OVERHEAD))
        return MC_NO_MEMORY;
    spin_lock(&s->lock);
    struct mc_item *old = find_live(s, key, nkey, hash), *it = NULL;
    enum mc_res r = MC_OK;
    uint64_t v = 0;
    a->created = false;
    if (!old) {
        if (incr) c->incr_misses++; else c->decr_misses++;
        if (!a->create)
            r = MC_NOT_FOUND;
        else if (!(it = item_number(key, nkey, 0, a->exptime, v = a->initial, 0)))
            r = MC_NO_MEMORY;
        else
            a->created = true;
    } else if (cas && old->cas != cas) {
        r = MC_EXISTS;
    } else if (!parse_u64_value(old, &v)) {
        r = MC_NON_NUMERIC;
    } else {
        if (incr) { c->incr_hits++; v += delta; }
        else { c->decr_hits++; v = delta > v ? 0 : v - delta; }
        if (!(it = item_number(key, nkey, old->flags, a->touch ? a->new_exptime : old->exptime,
                               v, old->nbytes)))
            r = MC_NO_MEMORY;
        else
            a->exptime_was = old->exptime;
    }
    if (it) {
        if (a->created)
            a->exptime_was = it->exptime;
        link_item(s, it, old);
        a->value = v;
        a->cas_out = it->cas;
    }
    spin_unlock(&s->lock);
    if (it && !old)
        maybe_grow();
    return r;
}

static unsigned reclaim_bucket(size_t b, bool all)
{
    struct shard *s = &shards[b % MC_NSHARDS];
    unsigned n = 0;
    uint32_t now = mc_time();
    spin_lock(&s->lock);
    struct mc_item *it = b <= tab->mask ? tab->b[b] : NULL;
    while (it) {
        struct mc_item *next = it->hnext[tab->gen];
        bool flushed;
        if (all) {
            unlink_item(s, it);
            n++;
        } else if (!alive(it, now, &flushed)) {
            reclaim_dead(s, it);
            n++;
        }
        it = next;
    }
    spin_unlock(&s->lock);
    return n;
}

void mc_flush(uint32_t at)
{
    /* As memcached: a delayed flush takes effect a second early, at whole seconds. */
    atomic_store(&flush_at, at ? at - 1 : 0);
    if (at == 0)
        for (size_t b = 0; b <= __atomic_load_n(&tab, __ATOMIC_ACQUIRE)->mask; b++)
            reclaim_bucket(b, true);
}

unsigned mc_reclaim_some(unsigned nb)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nb; i++) {
        size_t b = reclaim_cursor++ & __atomic_load_n(&tab, __ATOMIC_ACQUIRE)->mask;
        n += reclaim_bucket(b, false);
    }
    return n;
}

void mc_store_stats(struct mc_store_stats *s)
{
    s->curr_items = atomic_load(&curr_items);
    s->total_items = atomic_load(&n_total_items);
    s->bytes = atomic_load(&mem_used);
    s->evictions = atomic_load(&n_evictions);
    s->reclaimed = atomic_load(&n_reclaimed);
    s->expired_unfetched = atomic_load(&n_expired_unfetched);
    s->evicted_unfetched = atomic_load(&n_evicted_unfetched);
    s->evicted_active = atomic_load(&n_evicted_active);
    s->outofmemory = atomic_load(&n_outofmemory);
    s->hash_buckets = __atomic_load_n(&tab, __ATOMIC_ACQUIRE)->mask + 1;
    s->hash_growing = __atomic_load_n(&growing, __ATOMIC_RELAXED);
}
