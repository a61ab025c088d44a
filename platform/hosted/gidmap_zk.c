/* The GlobalIdMap on ZooKeeper (ebbs/globalidmap.ebb.h), for applications that span hosts:
 * every node that uses it keeps the map in one ZooKeeper ensemble, so front ends (and their
 * nodes, through them) on different machines share ids and membership. Hosted only (Debian's
 * libzookeeper-mt C client): link platform/hosted/gidmap_zk.c and -lzookeeper_mt, then choose it with
 * globalidmap=zk:HOST:PORT[,HOST:PORT...], or bind EBB_ID_GLOBALIDMAP to gidmap_zk_root in the
 * manifest (then globalidmap= may be omitted: zk:127.0.0.1:2181).
 *
 * Layout under gidmap_zk_path= [/ebbrt]: ids/<id in hex> holds an id's data; nodes/<node> is an
 * ephemeral znode holding a member's address, so a node whose session ends leaves by itself.
 * With a cluster key (key_file=) every znode carries a digest ACL for the identity
 * ebbrt:<HMAC-SHA-256(key, "ebbrt-gidmap-zk") in hex>, which only sessions that know the key can
 * read or write; without one the znodes are open (a warning says so).
 *
 * The client's completions run on its own thread; each hands its result to the core that owns
 * the rep through an eventfd, and that core completes the caller's promise. */
#define _GNU_SOURCE
#include "ebbs/globalidmap.gen.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#define THREADED /* the multi-threaded client: its synchronous calls, completions on its thread */
#include <zookeeper/zookeeper.h>
#include "core/config.h"
#include "core/event.h"
#include "core/messenger.h"
#include "core/sha256.h"
#include "core/spinlock.h"
#include "ebb_hosted.h"

#define PATH_MAX_ 128
#define CONNECT_TIMEOUT_NS 15000000000ull

struct zrep {
    const struct globalidmap *ops;
    zhandle_t *zh;
    char base[64];
    struct ACL_vector *acl;
    int efd;                  /* completions ready for the owning core */
    int lock;
    struct zop *done;         /* completed operations, newest first */
    volatile int connected;
};

/* One operation in flight: what its completion needs, then its result. */
struct zop {
    struct zrep *z;
    ebb_promise_t p;
    int err;
    uint64_t v;
    void *out;                /* the caller's buffer (get, lookup, members) */
    uint32_t cap;
    char path[PATH_MAX_];
    const uint8_t *data;      /* set, join: the bytes to create with if the znode is missing */
    uint32_t len;
    int mode;
    struct zop *next;
};

/* ZooKeeper's result codes as errno values. */
static int zerr(int rc)
{
    switch (rc) {
    case ZOK: return 0;
    case ZNONODE: return ENOENT;
    case ZNOAUTH: case ZAUTHFAILED: return EACCES;
    case ZCONNECTIONLOSS: case ZSESSIONEXPIRED: case ZCLOSING: return ECONNRESET;
    case ZOPERATIONTIMEOUT: return ETIMEDOUT;
    case ZBADARGUMENTS: return EINVAL;
    default: return EIO;
    }
}

/* On the client's thread: queue op for the owning core. */
static void finish(struct zop *op, int err, uint64_t v)
{
    op->err = err;
    op->v = v;
    struct zrep *z = op->z;
    spin_lock(&z->lock);
    op->next = z->done;
    z->done = op;
    spin_unlock(&z->lock);
    uint64_t one = 1;
    if (write(z->efd, &one, sizeof one) < 0)
        ebb_warn("gidmap_zk: eventfd write failed");
}

/* On the owning core. */
static void drain(void *arg, uint32_t events)
{
    (void)events;
    struct zrep *z = arg;
    uint64_t n;
    if (read(z->efd, &n, sizeof n) < 0 && errno != EAGAIN)
        return;
    spin_lock(&z->lock);
    struct zop *op = z->done;
    z->done = NULL;
    spin_unlock(&z->lock);
    while (op) {
        struct zop *next = op->next;
        if (op->err)
            ebb_promise_fail(op->p, op->err);
        else
            ebb_promise_set(op->p, op->v);
        free(op);
        op = next;
    }
}

static struct zop *op_new(struct zrep *z, ebb_future_t *f)
{
    struct zop *op = calloc(1, sizeof *op);
    if (!op) {
        *f = ebb_future_failed(ENOMEM);
        return NULL;
    }
    op->z = z;
    *f = ebb_promise_new(&op->p);
    return op;
}

/* A call the client refused at once (e.g. no connection) completes here. */
static void started(struct zop *op, int rc)
{
    if (rc != ZOK)
        finish(op, zerr(rc), 0);
}

/* ---- get, lookup: read a znode into the caller's buffer ---- */

static void data_done(int rc, const char *value, int value_len, const struct Stat *stat, const void *data)
{
    (void)stat;
    struct zop *op = (struct zop *)data;
    if (rc != ZOK) {
        finish(op, zerr(rc), 0);
        return;
    }
    uint32_t n = value_len > 0 ? (uint32_t)value_len : 0;
    if (op->mode) { /* lookup: a string, cut to fit with its NUL */
        char *s = op->out;
        uint32_t k = op->cap && n >= op->cap ? op->cap - 1 : n;
        if (op->cap) {
            memcpy(s, value, k);
            s[k] = 0;
        }
    } else {
        memcpy(op->out, value, n < op->cap ? n : op->cap);
    }
    finish(op, 0, n);
}

static ebb_future_t read_znode(struct zrep *z, const char *path, void *out, uint32_t cap, int is_string)
{
    ebb_future_t f;
    struct zop *op = op_new(z, &f);
    if (!op)
        return f;
    op->out = out;
    op->cap = cap;
    op->mode = is_string;
    started(op, zoo_aget(z->zh, path, 0, data_done, op));
    return f;
}

static ebb_future_t z_get(void *self, ebb_id_t id, uint8_t *buf, uint32_t cap)
{
    struct zrep *z = self;
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/ids/%08" PRIx32, z->base, id);
    return read_znode(z, path, buf, cap, 0);
}

static ebb_future_t z_lookup(void *self, uint32_t node, char *addr, uint32_t cap)
{
    struct zrep *z = self;
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/nodes/%05" PRIu32, z->base, node);
    return read_znode(z, path, addr, cap, 1);
}

/* ---- set, join: write a znode, made if it is missing ---- */

static void created(int rc, const char *value, const void *data);

static void written(int rc, const struct Stat *stat, const void *data)
{
    (void)stat;
    struct zop *op = (struct zop *)data;
    if (rc == ZNONODE) {
        rc = zoo_acreate(op->z->zh, op->path, (const char *)op->data, (int)op->len, op->z->acl,
                         op->mode, created, op);
        if (rc == ZOK)
            return;
    }
    finish(op, zerr(rc), 0);
}

static void created(int rc, const char *value, const void *data)
{
    (void)value;
    struct zop *op = (struct zop *)data;
    if (rc == ZNODEEXISTS) { /* made meanwhile by another node: write over it */
        rc = zoo_aset(op->z->zh, op->path, (const char *)op->data, (int)op->len, -1, written, op);
        if (rc == ZOK)
            return;
    }
    finish(op, zerr(rc), 0);
}

/* The data stays the caller's until the future completes (the generated server's buffer). */
static ebb_future_t write_znode(struct zrep *z, const char *path, const uint8_t *data, uint32_t len, int mode)
{
    ebb_future_t f;
    struct zop *op = op_new(z, &f);
    if (!op)
        return f;
    snprintf(op->path, sizeof op->path, "%s", path);
    op->data = data;
    op->len = len;
    op->mode = mode;
    /* Ephemeral znodes are created (a set would keep another session's); data is set first. */
    if (mode == ZOO_EPHEMERAL)
        started(op, zoo_acreate(z->zh, op->path, (const char *)data, (int)len, z->acl, mode, created, op));
    else
        started(op, zoo_aset(z->zh, op->path, (const char *)data, (int)len, -1, written, op));
    return f;
}

static ebb_future_t z_set(void *self, ebb_id_t id, const uint8_t *data, uint32_t len)
{
    struct zrep *z = self;
    if (len > GIDMAP_DATA_MAX)
        return ebb_future_failed(EMSGSIZE);
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/ids/%08" PRIx32, z->base, id);
    return write_znode(z, path, data, len, 0);
}

static ebb_future_t z_join(void *self, uint32_t node, const char *addr)
{
    struct zrep *z = self;
    if (node >= EBB_MAX_NODES || strlen(addr) >= GIDMAP_ADDR_MAX)
        return ebb_future_failed(EINVAL);
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/nodes/%05" PRIu32, z->base, node);
    return write_znode(z, path, (const uint8_t *)addr, (uint32_t)strlen(addr), ZOO_EPHEMERAL);
}

static void deleted(int rc, const void *data)
{
    finish((struct zop *)data, rc == ZNONODE ? 0 : zerr(rc), 0);
}

static ebb_future_t z_leave(void *self, uint32_t node)
{
    struct zrep *z = self;
    ebb_future_t f;
    struct zop *op = op_new(z, &f);
    if (!op)
        return f;
    snprintf(op->path, sizeof op->path, "%s/nodes/%05" PRIu32, z->base, node);
    started(op, zoo_adelete(z->zh, op->path, -1, deleted, op));
    return f;
}

/* ---- members ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void children_done(int rc, const struct String_vector *names, const void *data)
{
    struct zop *op = (struct zop *)data;
    if (rc != ZOK) {
        finish(op, zerr(rc), 0);
        return;
    }
    uint32_t *all = malloc(((size_t)names->count + 1) * sizeof *all), n = 0;
    if (!all) {
        finish(op, ENOMEM, 0);
        return;
    }
    for (int32_t i = 0; i < names->count; i++) {
        char *end;
        unsigned long v = strtoul(names->data[i], &end, 10);
        if (*end == 0 && v < EBB_MAX_NODES)
            all[n++] = (uint32_t)v;
    }
    qsort(all, n, sizeof *all, cmp_u32);
    memcpy(op->out, all, (n < op->cap ? n : op->cap) * sizeof *all);
    free(all);
    finish(op, 0, n);
}

static ebb_future_t z_members(void *self, uint32_t *nodes, uint32_t cap)
{
    struct zrep *z = self;
    ebb_future_t f;
    struct zop *op = op_new(z, &f);
    if (!op)
        return f;
    op->out = nodes;
    op->cap = cap;
    snprintf(op->path, sizeof op->path, "%s/nodes", z->base);
    started(op, zoo_aget_children(z->zh, op->path, 0, children_done, op));
    return f;
}

static const struct globalidmap zk_ops = {
    .get = z_get, .set = z_set, .join = z_join, .leave = z_leave, .members = z_members,
    .lookup = z_lookup,
};

/* ---- the session ---- */

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh, (void)path;
    struct zrep *z = ctx;
    if (type == ZOO_SESSION_EVENT)
        z->connected = state == ZOO_CONNECTED_STATE;
}

/* The digest identity the cluster key gives: "ebbrt:<hex HMAC>", and its ACL. */
static struct ACL_vector *key_acl(char *auth, size_t n)
{
    size_t klen;
    const uint8_t *key = ebb_msg_key(&klen);
    if (!key)
        return NULL;
    uint8_t mac[SHA256_LEN];
    static const char label[] = "ebbrt-gidmap-zk";
    hmac_sha256(key, klen, label, sizeof label - 1, mac);
    size_t o = (size_t)snprintf(auth, n, "ebbrt:");
    for (unsigned i = 0; i < SHA256_LEN && o + 2 < n; i++)
        o += (size_t)snprintf(auth + o, n - o, "%02x", mac[i]);
    return &ZOO_CREATOR_ALL_ACL; /* all rights for the identities the session authenticated as */
}

static int ensure(struct zrep *z, const char *path)
{
    int rc = zoo_create(z->zh, path, NULL, -1, z->acl, 0, NULL, 0);
    return rc == ZOK || rc == ZNODEEXISTS ? 0 : rc;
}

/* Connects to the ensemble hosts ("HOST:PORT,...") and makes the layout. NULL, with a message,
 * if it cannot. */
static struct zrep *zk_open(const char *hosts)
{
    struct zrep *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->ops = &zk_ops;
    z->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    const char *base = ebb_config_str("gidmap_zk_path", "/ebbrt");
    if (z->efd < 0 || base[0] != '/' || strlen(base) >= sizeof z->base) {
        ebb_warn("gidmap_zk: gidmap_zk_path=%s: not an absolute path of at most %zu bytes", base,
                 sizeof z->base - 1);
        goto fail;
    }
    strcpy(z->base, base);
    zoo_set_debug_level(ebb_log_on(EBB_LOG_DEBUG) ? ZOO_LOG_LEVEL_INFO : ZOO_LOG_LEVEL_ERROR);
    z->zh = zookeeper_init(hosts, watcher, 10000, NULL, z, 0);
    if (!z->zh) {
        ebb_warn("gidmap_zk: cannot use ZooKeeper at %s: %s", hosts, strerror(errno));
        goto fail;
    }
    uint64_t until = ebb_now_ns() + CONNECT_TIMEOUT_NS;
    while (!z->connected && ebb_now_ns() < until)
        usleep(2000); /* once, while the rep is built: the session must be up before any call */
    if (!z->connected) {
        ebb_warn("gidmap_zk: no ZooKeeper session with %s within %llu s", hosts,
                 (unsigned long long)(CONNECT_TIMEOUT_NS / 1000000000u));
        goto fail;
    }
    char auth[6 + 2 * SHA256_LEN + 1];
    z->acl = key_acl(auth, sizeof auth);
    if (z->acl) {
        if (zoo_add_auth(z->zh, "digest", auth, (int)strlen(auth), NULL, NULL) != ZOK)
            goto fail;
    } else {
        z->acl = &ZOO_OPEN_ACL_UNSAFE;
        ebb_warn("gidmap_zk: no cluster key (key_file=): the GlobalIdMap's znodes are open to "
                 "every ZooKeeper client");
    }
    char ids[96], nodes[96];
    snprintf(ids, sizeof ids, "%s/ids", z->base);
    snprintf(nodes, sizeof nodes, "%s/nodes", z->base);
    int rc = ensure(z, z->base);
    if (!rc)
        rc = ensure(z, ids);
    if (!rc)
        rc = ensure(z, nodes);
    if (rc) {
        ebb_warn("gidmap_zk: cannot make %s on %s: %s%s", z->base, hosts, zerror(rc),
                 rc == ZNOAUTH ? " (made by an application with another cluster key)" : "");
        goto fail;
    }
    if (ebb_fd_watch(z->efd, EPOLLIN, drain, z) < 0)
        goto fail;
    return z;
fail:
    if (z->zh)
        zookeeper_close(z->zh);
    if (z->efd >= 0)
        close(z->efd);
    free(z);
    return NULL;
}

/* For core/gidmap.c: the rep for globalidmap=zk:HOSTS. */
void *ebb_gidmap_zk_create(const char *hosts)
{
    struct zrep *z = zk_open(hosts);
    if (!z)
        ebb_panic("gidmap_zk: the GlobalIdMap on ZooKeeper at %s is not available", hosts);
    return z;
}

/* For a manifest: always ZooKeeper (globalidmap=zk:HOSTS, or the local default port). */
static void *zk_root_create(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    const char *spec = ebb_config_str("globalidmap", "zk:127.0.0.1:2181");
    if (strncmp(spec, "zk:", 3) != 0)
        ebb_panic("globalidmap=%s: this image binds the ZooKeeper GlobalIdMap: give zk:HOST:PORT", spec);
    return ebb_gidmap_zk_create(spec + 3);
}

GLOBALIDMAP_ROOT(gidmap_zk_root, zk_root_create);
