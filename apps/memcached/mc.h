/* memcached: what the store (store.c), the two protocols (ascii.c, binary.c) and the server
 * (memcached.c) share. The protocol code works on a connection's input chain and an output
 * builder and never touches the network, so the fuzz targets drive it directly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/iobuf.h"

#define MC_VERSION "1.6.18"   /* the memcached release whose protocol we follow */
#define MC_KEY_MAX 250
#define MC_ITEM_OVERHEAD 48   /* counted against item_max with key and value, as memcached does */
#define MC_NSHARDS 64         /* write locks and LRU lists */

/* ---- settings and counters ---- */
struct mc_settings {
    size_t mem_limit;         /* memory=, bytes */
    size_t item_max;          /* item_max=, bytes */
    unsigned port, cores, verbosity;
    bool evictions;           /* evict=1: LRU eviction; 0: refuse stores when full */
};
extern struct mc_settings mc_settings;

/* Per-core counters (each core writes only its own; stats sum them). */
#define MC_COUNTERS(X) \
    X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch) X(cmd_meta) X(get_hits) X(get_misses) \
    X(get_expired) X(get_flushed) X(delete_misses) X(delete_hits) X(incr_misses) X(incr_hits) \
    X(decr_misses) X(decr_hits) X(cas_misses) X(cas_hits) X(cas_badval) X(touch_hits) \
    X(touch_misses) X(store_too_large) X(store_no_memory) X(bytes_read) X(bytes_written) \
    X(total_connections) X(curr_connections) X(zero_copy_gets) X(zero_copy_sets) \
    X(conn_line_too_long) X(conn_output_overflow) X(conn_protocol_errors)
struct mc_counters {
#define X(n) uint64_t n;
    MC_COUNTERS(X)
#undef X
};
struct mc_counters *mc_counters_here(void);   /* this core's */
void mc_counters_sum(struct mc_counters *out);

/* ---- the platform under the store (memcached.c; the fuzz targets provide stand-ins) ---- */
unsigned mc_core(void);
unsigned mc_ncores(void);
uint64_t mc_mono_ns(void);
int64_t mc_unix_now(void);
/* The process's own `stats` lines (hosted: pid, rusage_user, rusage_system; natively none). */
typedef void (*mc_stat_fn)(void *arg, const char *name, const char *value);
void mc_process_stats(mc_stat_fn fn, void *arg);
/* Runs fn(arg) once no lock-free reader can still see what was unlinked before the call. */
void mc_defer(void (*fn)(void *), void *arg);

/* ---- items and the store (store.c) ---- */
struct mc_item {
    struct mc_item *hnext[2];       /* hash chains of the current and the previous table
                                     * (see store.c's growth), published with release stores */
    struct mc_item *lprev, *lnext;  /* the shard's LRU list (under the shard lock) */
    uint64_t cas;
    uint32_t hash, flags;
    uint32_t exptime;               /* server time (mc_time()) it dies at; 0: never */
    uint32_t nbytes;                /* value length */
    uint32_t stored;                /* mc_time() when stored: for flush_all with a delay */
    uint32_t atime;                 /* mc_time() of the last access (meta commands' `l`) */
    size_t held;                    /* bytes counted against memory= */
    struct iobuf *val;              /* kept buffers (zero copy), or NULL: value inline */
    uint8_t accessed, fetched, linked;
    uint8_t meta;                   /* MC_META_*, changed under the shard lock */
    uint8_t nkey;
    char key[];                     /* key, then the value when inline */
};
#define MC_META_BINKEY 1   /* stored by a meta command with a base64 key: `k` answers in base64 */
#define MC_META_STALE 2    /* invalidated (md I, or ms I with an older CAS) */
#define MC_META_WON 4      /* a client has been told it won the right to recache it */
static inline const uint8_t *mc_item_inline(const struct mc_item *it)
{
    return (const uint8_t *)it->key + it->nkey;
}
void mc_item_copy_value(const struct mc_item *it, uint8_t *dst);

/* Seconds since start (never 0 once running), like memcached's current_time. */
uint32_t mc_time(void);
/* Protocol exptime -> server time: 0 never, negative or past: already expired. */
uint32_t mc_exptime(int64_t e);
uint64_t mc_started_unix(void);

int mc_store_init(size_t mem_limit);
uint32_t mc_hash(const void *key, size_t n);

/* A value to store: n bytes at offset off of a chain (the connection's input). */
struct mc_src {
    const struct iobuf *chain;
    size_t off, n;
};

enum mc_op { MC_SET, MC_ADD, MC_REPLACE, MC_APPEND, MC_PREPEND, MC_CAS };
enum mc_res {
    MC_STORED, MC_NOT_STORED, MC_EXISTS, MC_NOT_FOUND, MC_TOO_LARGE, MC_NO_MEMORY,
    MC_NON_NUMERIC, MC_DELETED, MC_TOUCHED, MC_OK,
};

/* Lookup without a lock: the item stays readable until the current event ends. `touch`
 * (exptime != NULL) updates its expiry under the lock. Counts expired/flushed lookups. */
struct mc_item *mc_get(const char *key, size_t nkey, const uint32_t *new_exptime);
static inline bool mc_too_large(size_t nkey, size_t nbytes)
{
    return nkey + nbytes + MC_ITEM_OVERHEAD > mc_settings.item_max;
}
/* mc_store's `how` bits */
#define MC_STORE_BINKEY 1    /* the key came base64-encoded (MC_META_BINKEY) */
#define MC_STORE_STALE_OK 2  /* MC_CAS: a CAS lower than the item's stores it, marked stale */
#define MC_STORE_DROP 4      /* refused for size or memory: the old value goes too (ms) */
/* Stores per op; for MC_CAS (or any op with cas != 0 from the binary protocol) the item must
 * have that CAS (append/prepend of a missing key are NOT_STORED all the same). *cas_out gets
 * the new item's CAS. A set refused for size or memory removes the old value, as memcached. */
enum mc_res mc_store(enum mc_op op, const char *key, size_t nkey, uint32_t flags, uint32_t exptime,
                     const struct mc_src *v, uint64_t cas, unsigned how, uint64_t *cas_out);
enum mc_res mc_delete(const char *key, size_t nkey, uint64_t cas);
/* Removes the key's item if any, counting nothing. */
void mc_drop(const char *key, size_t nkey);
/* incr/decr on a decimal value. */
struct mc_arith {
    bool incr, create;       /* create: a missing key gets `initial` with `exptime` */
    uint64_t delta, initial;
    uint64_t cas;            /* nonzero: the item must have it */
    uint32_t exptime;
    bool touch;              /* the result gets `new_exptime` (meta ma T), unless created */
    uint32_t new_exptime;
    uint64_t value, cas_out; /* results */
    uint32_t exptime_was;    /* the result's expiry before `touch` */
    bool created;
};
enum mc_res mc_arith(const char *key, size_t nkey, struct mc_arith *a);
/* Meta commands: fn sees the key's live item (NULL when missing) with its shard locked, so it
 * may change its exptime and meta bits and answer from a consistent state. With `create` a
 * missing key first gets an empty item (flags and expiry 0), and `created` says so. fn's
 * answer may unlink the item or give it a new CAS. */
enum mc_act { MC_KEEP, MC_UNLINK, MC_NEW_CAS };
typedef enum mc_act (*mc_locked_fn)(struct mc_item *it, bool created, void *arg);
void mc_locked(const char *key, size_t nkey, bool create, mc_locked_fn fn, void *arg);
/* What a read does to an item (mc_get does it; meta `u` skips it). */
void mc_bump(struct mc_item *it);
/* flush_all: `at` 0: everything now; else a server time (mc_exptime()) from which on what was
 * stored before it is gone. */
void mc_flush(uint32_t at);
/* Frees a bounded number of expired or flushed items; returns how many. */
unsigned mc_reclaim_some(unsigned buckets);

struct mc_store_stats {
    uint64_t curr_items, total_items, bytes, evictions, reclaimed, expired_unfetched,
        evicted_unfetched, evicted_active, outofmemory, hash_buckets;
    bool hash_growing;
};
void mc_store_stats(struct mc_store_stats *s);

/* ---- output builder: replies are appended in order to one chain ---- */
struct mc_out {
    struct iobuf *chain;  /* what is built so far */
    struct iobuf *tail;   /* last buffer if bytes may still be appended to it, else NULL */
    size_t len;
};
void mc_out_bytes(struct mc_out *o, const void *p, size_t n);
static inline void mc_out_str(struct mc_out *o, const char *s);
/* Appends the item's value: a reference to its buffers when kept, else a copy. */
void mc_out_value(struct mc_out *o, const struct mc_item *it);
struct iobuf *mc_out_take(struct mc_out *o);

#include <string.h>
static inline void mc_out_str(struct mc_out *o, const char *s) { mc_out_bytes(o, s, strlen(s)); }

/* ---- a connection's protocol state (memcached.c owns the network side) ---- */
enum mc_proto { MC_PROTO_UNKNOWN, MC_PROTO_ASCII, MC_PROTO_BINARY };
struct mc_session {
    enum mc_proto proto;
    size_t swallow;       /* input bytes still to discard (a refused value) */
    bool close;           /* close once the output is sent */
    bool noreply_pending; /* binary: quiet replies suppressed since the last flush point */
};

/* The meta commands (meta.c): one command line of n bytes (without its newline) that takes
 * linelen bytes of input; returns the bytes consumed, 0 if more input is needed. */
size_t mc_meta_one(struct mc_session *s, const char *line, size_t n, size_t linelen,
                   const struct iobuf *in, size_t avail, struct mc_out *o);
/* Parses and executes the complete requests in *in, appending replies to o, until o holds
 * `limit` bytes. Consumed input is trimmed from *in. Stops early if s->close. */
void mc_process(struct mc_session *s, struct iobuf **in, struct mc_out *o, size_t limit);
/* Protocols (called by mc_process): return bytes consumed by one request, 0 if more input is
 * needed. */
size_t mc_ascii_one(struct mc_session *s, const struct iobuf *in, size_t avail, struct mc_out *o);
size_t mc_binary_one(struct mc_session *s, const struct iobuf *in, size_t avail, struct mc_out *o);
/* The stats replies, shared by both protocols: fn(arg, name, value) per line. */
bool mc_stats(const char *group, mc_stat_fn fn, void *arg);
void mc_stats_reset(void);
