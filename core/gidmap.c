/* The embedded GlobalIdMap (ebbs/globalidmap.ebb.h): node gidmap_node= (default 0: the front
 * end) holds the ids' data and the members in its memory; every other node's rep forwards each
 * call there through the Messenger (the generated _at stubs), so no extra process is needed.
 *
 * What other nodes can make the holder keep is bounded: gidmap_ids_max ids [1 Mi] and
 * gidmap_bytes_max bytes of data [64 MiB] (a set beyond fails with ENOSPC and is counted), at
 * most GIDMAP_DATA_MAX bytes per id, one address per node. */
#include "ebbs/globalidmap.gen.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/spinlock.h"

struct entry {
    struct entry *next;
    ebb_id_t id;
    uint32_t len;
    uint8_t data[];
};

struct member {
    uint32_t node;
    char addr[GIDMAP_ADDR_MAX];
};

struct grep {
    const struct globalidmap *ops;
    unsigned holder;              /* the node that holds the map */
    int lock;
    struct entry **bucket;
    size_t nbuckets, ids, bytes;  /* nbuckets: a power of two */
    size_t ids_max, bytes_max;
    struct member *members;       /* ascending by node */
    size_t nmembers, members_cap;
};

static struct ebb_gidmap_stats stats;

void ebb_gidmap_stats(struct ebb_gidmap_stats *out)
{
    out->ids = __atomic_load_n(&stats.ids, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&stats.bytes, __ATOMIC_RELAXED);
    out->sets_refused = __atomic_load_n(&stats.sets_refused, __ATOMIC_RELAXED);
}

static size_t hash(ebb_id_t id, size_t n) { return (size_t)((id * 0x9E3779B1u) >> 7) & (n - 1); }

static struct entry **find(struct grep *g, ebb_id_t id)
{
    struct entry **pp = &g->bucket[hash(id, g->nbuckets)];
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

/* Doubles the table when it holds as many ids as buckets; a failed grow keeps the old one. */
static void grow(struct grep *g)
{
    if (g->ids < g->nbuckets)
        return;
    size_t n = g->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < g->nbuckets; i++)
        for (struct entry *e = g->bucket[i], *next; e; e = next) {
            next = e->next;
            e->next = b[hash(e->id, n)];
            b[hash(e->id, n)] = e;
        }
    free(g->bucket);
    g->bucket = b;
    g->nbuckets = n;
}

static int local_get(struct grep *g, ebb_id_t id, uint8_t *buf, uint32_t cap, uint64_t *len)
{
    spin_lock(&g->lock);
    struct entry *e = *find(g, id);
    if (e) {
        memcpy(buf, e->data, e->len < cap ? e->len : cap);
        *len = e->len;
    }
    spin_unlock(&g->lock);
    return e ? 0 : ENOENT;
}

static int local_set(struct grep *g, ebb_id_t id, const uint8_t *data, uint32_t len)
{
    if (len > GIDMAP_DATA_MAX)
        return EMSGSIZE;
    struct entry *n = malloc(sizeof *n + len);
    if (!n)
        return ENOMEM;
    n->id = id;
    n->len = len;
    memcpy(n->data, data, len);
    spin_lock(&g->lock);
    struct entry **pp = find(g, id), *old = *pp;
    size_t ids = g->ids + !old, bytes = g->bytes - (old ? old->len : 0) + len;
    if (ids > g->ids_max || bytes > g->bytes_max) {
        spin_unlock(&g->lock);
        free(n);
        __atomic_fetch_add(&stats.sets_refused, 1, __ATOMIC_RELAXED);
        return ENOSPC;
    }
    n->next = old ? old->next : NULL;
    *pp = n;
    g->ids = ids;
    g->bytes = bytes;
    grow(g);
    __atomic_store_n(&stats.ids, ids, __ATOMIC_RELAXED);
    __atomic_store_n(&stats.bytes, bytes, __ATOMIC_RELAXED);
    spin_unlock(&g->lock);
    free(old);
    return 0;
}

/* The index of node in members, or of where it would go. */
static size_t member_at(const struct grep *g, uint32_t node)
{
    size_t lo = 0, hi = g->nmembers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->members[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int local_join(struct grep *g, uint32_t node, const char *addr)
{
    if (node >= EBB_MAX_NODES || strlen(addr) >= GIDMAP_ADDR_MAX)
        return EINVAL;
    spin_lock(&g->lock);
    size_t i = member_at(g, node);
    int err = 0;
    if (i == g->nmembers || g->members[i].node != node) {
        if (g->nmembers == g->members_cap) {
            size_t cap = g->members_cap ? g->members_cap * 2 : 16;
            struct member *m = realloc(g->members, cap * sizeof *m);
            if (!m) {
                err = ENOMEM;
                goto out;
            }
            g->members = m;
            g->members_cap = cap;
        }
        memmove(&g->members[i + 1], &g->members[i], (g->nmembers - i) * sizeof *g->members);
        g->nmembers++;
        g->members[i].node = node;
    }
    strcpy(g->members[i].addr, addr);
out:
    spin_unlock(&g->lock);
    return err;
}

static void local_leave(struct grep *g, uint32_t node)
{
    spin_lock(&g->lock);
    size_t i = member_at(g, node);
    if (i < g->nmembers && g->members[i].node == node) {
        memmove(&g->members[i], &g->members[i + 1], (g->nmembers - i - 1) * sizeof *g->members);
        g->nmembers--;
    }
    spin_unlock(&g->lock);
}

static uint64_t local_members(struct grep *g, uint32_t *nodes, uint32_t cap)
{
    spin_lock(&g->lock);
    for (size_t i = 0; i < g->nmembers && i < cap; i++)
        nodes[i] = g->members[i].node;
    uint64_t n = g->nmembers;
    spin_unlock(&g->lock);
    return n;
}

static int local_lookup(struct grep *g, uint32_t node, char *addr, uint32_t cap, uint64_t *len)
{
    spin_lock(&g->lock);
    size_t i = member_at(g, node);
    bool found = i < g->nmembers && g->members[i].node == node;
    if (found) {
        size_t n = strlen(g->members[i].addr);
        if (cap) {
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(addr, g->members[i].addr, k);
            addr[k] = 0;
        }
        *len = n;
    }
    spin_unlock(&g->lock);
    return found ? 0 : ENOENT;
}

static ebb_future_t result(int err, uint64_t v) { return err ? ebb_future_failed(err) : ebb_future_ready(v); }

/* Each method: the holder answers from its memory, any other node asks the holder. */
#define HELD(g) ((g)->holder == ebb_node())

static ebb_future_t g_get(void *self, ebb_id_t id, uint8_t *buf, uint32_t cap)
{
    struct grep *g = self;
    if (!HELD(g))
        return globalidmap_get_at(g->holder, EBB_ID_GLOBALIDMAP, id, buf, cap);
    uint64_t len = 0;
    int err = local_get(g, id, buf, cap, &len);
    return result(err, len);
}

static ebb_future_t g_set(void *self, ebb_id_t id, const uint8_t *data, uint32_t len)
{
    struct grep *g = self;
    if (!HELD(g))
        return globalidmap_set_at(g->holder, EBB_ID_GLOBALIDMAP, id, data, len);
    return result(local_set(g, id, data, len), 0);
}

static ebb_future_t g_join(void *self, uint32_t node, const char *addr)
{
    struct grep *g = self;
    if (!HELD(g))
        return globalidmap_join_at(g->holder, EBB_ID_GLOBALIDMAP, node, addr);
    return result(local_join(g, node, addr), 0);
}

static ebb_future_t g_leave(void *self, uint32_t node)
{
    struct grep *g = self;
    if (!HELD(g))
        return globalidmap_leave_at(g->holder, EBB_ID_GLOBALIDMAP, node);
    local_leave(g, node);
    return ebb_future_ready(0);
}

static ebb_future_t g_members(void *self, uint32_t *nodes, uint32_t cap)
{
    struct grep *g = self;
    if (!HELD(g))
        return globalidmap_members_at(g->holder, EBB_ID_GLOBALIDMAP, nodes, cap);
    return ebb_future_ready(local_members(g, nodes, cap));
}

static ebb_future_t g_lookup(void *self, uint32_t node, char *addr, uint32_t cap)
{
    struct grep *g = self;
    if (!HELD(g))
        return globalidmap_lookup_at(g->holder, EBB_ID_GLOBALIDMAP, node, addr, cap);
    uint64_t len = 0;
    int err = local_lookup(g, node, addr, cap, &len);
    return result(err, len);
}

static const struct globalidmap gidmap_ops = {
    .get = g_get, .set = g_set, .join = g_join, .leave = g_leave, .members = g_members,
    .lookup = g_lookup,
};

/* platform/hosted/gidmap_zk.c, in the images linked with it. */
void *ebb_gidmap_zk_create(const char *hosts) __attribute__((weak));

static void *gidmap_create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    const char *spec = ebb_config_str("globalidmap", "embedded");
    if (strncmp(spec, "zk:", 3) == 0 && ebb_gidmap_zk_create)
        return ebb_gidmap_zk_create(spec + 3);
    if (strcmp(spec, "embedded") != 0)
        ebb_panic("globalidmap=%s: this image has the embedded GlobalIdMap only (globalidmap=zk:"
                  "HOST:PORT needs platform/hosted/gidmap_zk.c and -lzookeeper_mt linked in: docs/cluster.md)",
                  spec);
    struct grep *g = calloc(1, sizeof *g);
    if (!g || !(g->bucket = calloc(64, sizeof *g->bucket))) {
        free(g);
        return NULL;
    }
    g->ops = &gidmap_ops;
    g->nbuckets = 64;
    g->holder = (unsigned)ebb_config_int("gidmap_node", 0, 0, EBB_MAX_NODES - 1);
    g->ids_max = (size_t)ebb_config_int("gidmap_ids_max", 1l << 20, 1, 1l << 30);
    g->bytes_max = (size_t)ebb_config_int("gidmap_bytes_max", 64l << 20, 1, 1l << 40);
    return g;
}

GLOBALIDMAP_ROOT(ebb_gidmap_root, gidmap_create);
