/* What both protocols share: the reply builder, the request loop (protocol chosen by the first
 * byte, as memcached does) and the stats groups. */
#include <stdio.h>
#include <string.h>
#include "apps/memcached/mc.h"

#define OUT_BUF 16384
#define COPY_MAX 2048   /* values up to this are copied into the reply even when kept as IOBufs */

void mc_out_bytes(struct mc_out *o, const void *p, size_t n)
{
    const uint8_t *s = p;
    o->len += n;
    while (n) {
        if (!o->tail || !iobuf_tailroom(o->tail)) {
            struct iobuf *b = iobuf_alloc(n > OUT_BUF ? n : OUT_BUF, 0);
            if (!b)
                return; /* out of memory: the reply is cut short; the connection will notice */
            o->chain = iobuf_chain_append(o->chain, b);
            o->tail = b;
        }
        size_t k = iobuf_tailroom(o->tail) < n ? iobuf_tailroom(o->tail) : n;
        memcpy(iobuf_append(o->tail, k), s, k);
        s += k;
        n -= k;
    }
}

void mc_out_value(struct mc_out *o, const struct mc_item *it)
{
    if (!it->val) {
        mc_out_bytes(o, mc_item_inline(it), it->nbytes);
        return;
    }
    if (it->nbytes <= COPY_MAX) {
        if (!o->tail || iobuf_tailroom(o->tail) < it->nbytes) {
            struct iobuf *b = iobuf_alloc(OUT_BUF, 0);
            if (!b)
                return;
            o->chain = iobuf_chain_append(o->chain, b);
            o->tail = b;
        }
        iobuf_copy_out(it->val, 0, iobuf_append(o->tail, it->nbytes), it->nbytes);
        o->len += it->nbytes;
        return;
    }
    struct iobuf *c = iobuf_clone(it->val);
    if (!c)
        return;
    mc_counters_here()->zero_copy_gets++;
    o->chain = iobuf_chain_append(o->chain, c);
    o->tail = NULL; /* the next bytes go into a buffer after the value */
    o->len += it->nbytes;
}

struct iobuf *mc_out_take(struct mc_out *o)
{
    struct iobuf *c = o->chain;
    o->chain = o->tail = NULL;
    o->len = 0;
    return c;
}

void mc_process(struct mc_session *s, struct iobuf **in, struct mc_out *o, size_t limit)
{
    while (*in && !s->close && o->len < limit) {
        size_t avail = iobuf_chain_len(*in);
        size_t used;
        if (s->swallow) {
            used = s->swallow < avail ? s->swallow : avail;
            s->swallow -= used;
        } else {
            if (s->proto == MC_PROTO_UNKNOWN)
                s->proto = (*in)->len && (*in)->data[0] == 0x80 ? MC_PROTO_BINARY : MC_PROTO_ASCII;
            used = s->proto == MC_PROTO_BINARY ? mc_binary_one(s, *in, avail, o)
                                               : mc_ascii_one(s, *in, avail, o);
            if (!used)
                break;
        }
        *in = iobuf_chain_trim_front(*in, used);
    }
}

/* ---- stats ---- */

static void stat_u(mc_stat_fn fn, void *arg, const char *name, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    fn(arg, name, b);
}

static void stats_general(mc_stat_fn fn, void *arg)
{
    struct mc_counters c;
    struct mc_store_stats st;
    mc_counters_sum(&c);
    mc_store_stats(&st);
    uint32_t now = mc_time();
    mc_process_stats(fn, arg); /* pid first, as memcached */
    stat_u(fn, arg, "uptime", now - 2);
    stat_u(fn, arg, "time", mc_started_unix() + now);
    fn(arg, "version", MC_VERSION);
    stat_u(fn, arg, "pointer_size", 8 * sizeof(void *));
    stat_u(fn, arg, "curr_connections", c.curr_connections);
    stat_u(fn, arg, "total_connections", c.total_connections);
#define X(n) if (strncmp(#n, "conn", 4) && strcmp(#n, "total_connections")) stat_u(fn, arg, #n, c.n);
    MC_COUNTERS(X)
#undef X
    stat_u(fn, arg, "limit_maxbytes", mc_settings.mem_limit);
    stat_u(fn, arg, "threads", mc_settings.cores);
    fn(arg, "accepting_conns", "1");
    stat_u(fn, arg, "hash_power_level", (uint64_t)__builtin_ctzll(st.hash_buckets));
    stat_u(fn, arg, "hash_bytes", st.hash_buckets * sizeof(void *));
    stat_u(fn, arg, "hash_is_expanding", st.hash_growing);
    stat_u(fn, arg, "bytes", st.bytes);
    stat_u(fn, arg, "curr_items", st.curr_items);
    stat_u(fn, arg, "total_items", st.total_items);
    stat_u(fn, arg, "expired_unfetched", st.expired_unfetched);
    stat_u(fn, arg, "evicted_unfetched", st.evicted_unfetched);
    stat_u(fn, arg, "evicted_active", st.evicted_active);
    stat_u(fn, arg, "evictions", st.evictions);
    stat_u(fn, arg, "reclaimed", st.reclaimed);
    stat_u(fn, arg, "conn_line_too_long", c.conn_line_too_long);
    stat_u(fn, arg, "conn_output_overflow", c.conn_output_overflow);
    stat_u(fn, arg, "conn_protocol_errors", c.conn_protocol_errors);
}

static void stats_settings(mc_stat_fn fn, void *arg)
{
    stat_u(fn, arg, "maxbytes", mc_settings.mem_limit);
    stat_u(fn, arg, "tcpport", mc_settings.port);
    stat_u(fn, arg, "udpport", 0);
    stat_u(fn, arg, "verbosity", mc_settings.verbosity);
    fn(arg, "evictions", mc_settings.evictions ? "on" : "off");
    stat_u(fn, arg, "num_threads", mc_settings.cores);
    fn(arg, "cas_enabled", "yes");
    fn(arg, "binding_protocol", "auto-negotiate");
    fn(arg, "auth_enabled_sasl", "no");
    stat_u(fn, arg, "item_size_max", mc_settings.item_max);
    fn(arg, "flush_enabled", "yes");
    fn(arg, "lru_crawler", "yes");
    fn(arg, "shutdown_command", "no");
    fn(arg, "detail_enabled", "no");
}

/* One pseudo slab class (1) holds everything: items are allocated at their size. */
static void stats_items(mc_stat_fn fn, void *arg)
{
    struct mc_store_stats st;
    mc_store_stats(&st);
    if (!st.curr_items)
        return;
    stat_u(fn, arg, "items:1:number", st.curr_items);
    stat_u(fn, arg, "items:1:mem_requested", st.bytes);
    stat_u(fn, arg, "items:1:evicted", st.evictions);
    stat_u(fn, arg, "items:1:outofmemory", st.outofmemory);
    stat_u(fn, arg, "items:1:reclaimed", st.reclaimed);
    stat_u(fn, arg, "items:1:expired_unfetched", st.expired_unfetched);
    stat_u(fn, arg, "items:1:evicted_unfetched", st.evicted_unfetched);
    stat_u(fn, arg, "items:1:evicted_active", st.evicted_active);
}

static void stats_slabs(mc_stat_fn fn, void *arg)
{
    struct mc_store_stats st;
    struct mc_counters c;
    mc_store_stats(&st);
    mc_counters_sum(&c);
    if (st.curr_items) {
        stat_u(fn, arg, "1:used_chunks", st.curr_items);
        stat_u(fn, arg, "1:get_hits", c.get_hits);
        stat_u(fn, arg, "1:cmd_set", c.cmd_set);
        stat_u(fn, arg, "1:delete_hits", c.delete_hits);
        stat_u(fn, arg, "1:incr_hits", c.incr_hits);
        stat_u(fn, arg, "1:decr_hits", c.decr_hits);
        stat_u(fn, arg, "1:cas_hits", c.cas_hits);
        stat_u(fn, arg, "1:cas_badval", c.cas_badval);
        stat_u(fn, arg, "1:touch_hits", c.touch_hits);
    }
    stat_u(fn, arg, "active_slabs", st.curr_items ? 1 : 0);
    stat_u(fn, arg, "total_malloced", st.bytes);
}

bool mc_stats(const char *group, mc_stat_fn fn, void *arg)
{
    if (!group || !*group)
        stats_general(fn, arg);
    else if (strcmp(group, "settings") == 0)
        stats_settings(fn, arg);
    else if (strcmp(group, "items") == 0)
        stats_items(fn, arg);
    else if (strcmp(group, "slabs") == 0)
        stats_slabs(fn, arg);
    else if (strcmp(group, "sizes") == 0)
        fn(arg, "sizes_status", "disabled");
    else
        return false;
    return true;
}
