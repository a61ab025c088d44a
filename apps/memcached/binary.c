/* The binary protocol (memcached's doc/protocol-binary.xml): every opcode memcached 1.6 serves
 * without SASL, with its quiet forms, status codes, error bodies and connection handling (a bad
 * magic or malformed header closes the connection, as memcached does). */
#include <string.h>
#include "apps/memcached/mc.h"

enum {
    OP_GET = 0x00, OP_SET, OP_ADD, OP_REPLACE, OP_DELETE, OP_INCR, OP_DECR, OP_QUIT, OP_FLUSH,
    OP_GETQ, OP_NOOP, OP_VERSION, OP_GETK, OP_GETKQ, OP_APPEND, OP_PREPEND, OP_STAT, OP_SETQ,
    OP_ADDQ, OP_REPLACEQ, OP_DELETEQ, OP_INCRQ, OP_DECRQ, OP_QUITQ, OP_FLUSHQ, OP_APPENDQ,
    OP_PREPENDQ, OP_TOUCH = 0x1c, OP_GAT, OP_GATQ, OP_GATK = 0x23, OP_GATKQ,
};
enum {
    ST_OK = 0, ST_NOT_FOUND, ST_EXISTS, ST_TOO_LARGE, ST_EINVAL, ST_NOT_STORED, ST_NON_NUMERIC,
    ST_UNKNOWN = 0x81, ST_NOMEM,
};
#define BODY_MAX_OTHER 4096   /* requests other than stores have small bodies */

struct req {
    uint8_t op, extlen;
    uint16_t keylen;
    uint32_t bodylen, opaque;
    uint64_t cas;
    uint8_t ext[20];
    char key[MC_KEY_MAX];
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static void header(struct mc_out *o, const struct req *r, uint16_t status, uint16_t keylen,
                   uint8_t extlen, uint32_t bodylen, uint64_t cas)
{
    uint8_t h[24] = {0x81, r->op};
    put16(h + 2, keylen);
    h[4] = extlen;
    put16(h + 6, status);
    put32(h + 8, bodylen);
    memcpy(h + 12, &r->opaque, 4); /* echoed as received */
    put64(h + 16, cas);
    mc_out_bytes(o, h, sizeof h);
}

static void error(struct mc_out *o, const struct req *r, uint16_t status)
{
    const char *msg = status == ST_NOT_FOUND ? "Not found"
                    : status == ST_EXISTS ? "Data exists for key."
                    : status == ST_TOO_LARGE ? "Too large."
                    : status == ST_EINVAL ? "Invalid arguments"
                    : status == ST_NOT_STORED ? "Not stored."
                    : status == ST_NON_NUMERIC ? "Non-numeric server-side value for incr or decr"
                    : status == ST_UNKNOWN ? "Unknown command" : "Out of memory";
    size_t n = strlen(msg);
    header(o, r, status, 0, 0, (uint32_t)n, 0);
    mc_out_bytes(o, msg, n);
}

static bool quiet(uint8_t op)
{
    return op == OP_GETQ || op == OP_GETKQ || (op >= OP_SETQ && op <= OP_PREPENDQ) ||
           op == OP_GATQ || op == OP_GATKQ;
}

/* Extras length each opcode must carry; -1: unknown opcode. */
static int ext_needed(uint8_t op, uint8_t given)
{
    switch (op) {
    case OP_SET: case OP_ADD: case OP_REPLACE: case OP_SETQ: case OP_ADDQ: case OP_REPLACEQ:
        return 8;
    case OP_INCR: case OP_DECR: case OP_INCRQ: case OP_DECRQ:
        return 20;
    case OP_TOUCH: case OP_GAT: case OP_GATQ: case OP_GATK: case OP_GATKQ:
        return 4;
    case OP_FLUSH: case OP_FLUSHQ:
        return given == 4 ? 4 : 0;
    case OP_GET: case OP_GETQ: case OP_GETK: case OP_GETKQ: case OP_DELETE: case OP_DELETEQ:
    case OP_APPEND: case OP_PREPEND: case OP_APPENDQ: case OP_PREPENDQ: case OP_QUIT:
    case OP_QUITQ: case OP_NOOP: case OP_VERSION: case OP_STAT:
        return 0;
    default:
        return -1;
    }
}

static bool needs_key(uint8_t op)
{
    return op != OP_QUIT && op != OP_QUITQ && op != OP_NOOP && op != OP_VERSION && op != OP_STAT &&
           op != OP_FLUSH && op != OP_FLUSHQ;
}

static bool is_store(uint8_t op)
{
    return (op >= OP_SET && op <= OP_REPLACE) || op == OP_APPEND || op == OP_PREPEND ||
           (op >= OP_SETQ && op <= OP_REPLACEQ) || op == OP_APPENDQ || op == OP_PREPENDQ;
}

static void get(const struct req *r, struct mc_out *o)
{
    bool touch = r->op == OP_TOUCH || r->op == OP_GAT || r->op == OP_GATQ || r->op == OP_GATK ||
                 r->op == OP_GATKQ;
    uint32_t exp = touch ? mc_exptime((int32_t)get32(r->ext)) : 0;
    struct mc_counters *c = mc_counters_here();
    struct mc_item *it = mc_get(r->key, r->keylen, touch ? &exp : NULL);
    if (touch) {
        c->cmd_touch++;
        if (it) c->touch_hits++; else c->touch_misses++;
    }
    if (r->op != OP_TOUCH) {
        c->cmd_get++;
        if (it) c->get_hits++; else c->get_misses++;
    }
    if (!it) {
        if (!quiet(r->op)) {
            if (r->op == OP_GETK || r->op == OP_GATK) {
                /* memcached names the key it missed */
                header(o, r, ST_NOT_FOUND, r->keylen, 0, r->keylen, 0);
                mc_out_bytes(o, r->key, r->keylen);
            } else {
                error(o, r, ST_NOT_FOUND);
            }
        }
        return;
    }
    bool withkey = r->op == OP_GETK || r->op == OP_GETKQ || r->op == OP_GATK || r->op == OP_GATKQ;
    uint16_t kl = withkey ? r->keylen : 0;
    uint32_t vl = r->op == OP_TOUCH ? 0 : it->nbytes;
    header(o, r, ST_OK, kl, 4, 4 + kl + vl, it->cas);
    uint8_t f[4];
    put32(f, it->flags);
    mc_out_bytes(o, f, 4);
    mc_out_bytes(o, r->key, kl);
    if (vl)
        mc_out_value(o, it);
}

static void store(const struct req *r, const struct iobuf *in, struct mc_out *o)
{
    uint8_t base = r->op >= OP_SETQ ? (uint8_t)(r->op == OP_APPENDQ ? OP_APPEND
                                              : r->op == OP_PREPENDQ ? OP_PREPEND
                                              : r->op - OP_SETQ + OP_SET) : r->op;
    enum mc_op op = base == OP_SET ? MC_SET : base == OP_ADD ? MC_ADD : base == OP_REPLACE
                  ? MC_REPLACE : base == OP_APPEND ? MC_APPEND : MC_PREPEND;
    uint32_t flags = r->extlen ? get32(r->ext) : 0;
    uint32_t exp = r->extlen ? mc_exptime((int32_t)get32(r->ext + 4)) : 0;
    struct mc_src v = {in, 24u + r->extlen + r->keylen, r->bodylen - r->extlen - r->keylen};
    uint64_t cas = 0;
    mc_counters_here()->cmd_set++;
    enum mc_res res = mc_store(op, r->key, r->keylen, flags, exp, &v,
                               op == MC_ADD ? 0 : r->cas, 0, &cas);
    uint16_t st = ST_OK;
    switch (res) {
    case MC_STORED: break;
    case MC_NOT_STORED:
        st = op == MC_ADD ? ST_EXISTS : op == MC_REPLACE ? ST_NOT_FOUND : ST_NOT_STORED;
        break;
    case MC_EXISTS: st = ST_EXISTS; break;
    case MC_NOT_FOUND: st = ST_NOT_FOUND; break;
    case MC_TOO_LARGE: st = ST_TOO_LARGE; mc_counters_here()->store_too_large++; break;
    default: st = ST_NOMEM; mc_counters_here()->store_no_memory++; break;
    }
    if (st != ST_OK)
        error(o, r, st);
    else if (!quiet(r->op))
        header(o, r, ST_OK, 0, 0, 0, cas);
}

static void arith(const struct req *r, struct mc_out *o)
{
    bool incr = r->op == OP_INCR || r->op == OP_INCRQ;
    uint32_t e = get32(r->ext + 16);
    /* a missing key is created only without a CAS */
    struct mc_arith a = {.incr = incr, .create = e != 0xffffffffu && !r->cas,
                         .delta = get64(r->ext), .initial = get64(r->ext + 8), .cas = r->cas,
                         .exptime = mc_exptime((int32_t)e)};
    enum mc_res res = mc_arith(r->key, r->keylen, &a);
    if (res == MC_OK) {
        if (!quiet(r->op)) {
            header(o, r, ST_OK, 0, 0, 8, a.cas_out);
            uint8_t b[8];
            put64(b, a.value);
            mc_out_bytes(o, b, 8);
        }
        return;
    }
    error(o, r, res == MC_NOT_FOUND ? ST_NOT_FOUND : res == MC_EXISTS ? ST_EXISTS
              : res == MC_NON_NUMERIC ? ST_NON_NUMERIC : ST_NOMEM);
}

struct stat_ctx {
    struct mc_out *o;
    const struct req *r;
};

static void stat_packet(void *arg, const char *name, const char *value)
{
    struct stat_ctx *s = arg;
    size_t kl = strlen(name), vl = strlen(value);
    header(s->o, s->r, ST_OK, (uint16_t)kl, 0, (uint32_t)(kl + vl), 0);
    mc_out_bytes(s->o, name, kl);
    mc_out_bytes(s->o, value, vl);
}

static void stat(const struct req *r, struct mc_out *o)
{
    char group[16] = "";
    if (r->keylen >= sizeof group) {
        error(o, r, ST_NOT_FOUND);
        return;
    }
    memcpy(group, r->key, r->keylen);
    group[r->keylen] = 0;
    struct stat_ctx s = {o, r};
    if (strcmp(group, "reset") == 0)
        mc_stats_reset();
    else if (!mc_stats(group, stat_packet, &s)) {
        error(o, r, ST_NOT_FOUND);
        return;
    }
    header(o, r, ST_OK, 0, 0, 0, 0);
}

size_t mc_binary_one(struct mc_session *s, const struct iobuf *in, size_t avail, struct mc_out *o)
{
    if (avail < 24)
        return 0;
    uint8_t h[24];
    iobuf_copy_out(in, 0, h, 24);
    struct req r = {.op = h[1], .keylen = (uint16_t)(h[2] << 8 | h[3]), .extlen = h[4],
                    .bodylen = get32(h + 8), .cas = get64(h + 16)};
    memcpy(&r.opaque, h + 12, 4);
    if (h[0] != 0x80) {
        mc_counters_here()->conn_protocol_errors++;
        s->close = true; /* not a request: memcached drops the connection */
        return 0;
    }
    int ext = ext_needed(r.op, r.extlen);
    uint64_t value_len = (uint64_t)r.bodylen - r.extlen - r.keylen;
    if (ext < 0) {
        /* Unknown: answered, its body skipped. */
        error(o, &r, ST_UNKNOWN);
        s->swallow = r.bodylen;
        return 24;
    }
    if ((uint64_t)r.extlen + r.keylen > r.bodylen || r.extlen != ext || r.keylen > MC_KEY_MAX ||
        (needs_key(r.op) && r.keylen == 0) || (!is_store(r.op) && value_len) ||
        (!is_store(r.op) && r.bodylen > BODY_MAX_OTHER)) {
        mc_counters_here()->conn_protocol_errors++;
        error(o, &r, ST_EINVAL);
        s->close = true;
        return 0;
    }
    if (is_store(r.op) && mc_too_large(r.keylen, value_len)) {
        /* A set also drops the old value, as memcached: wait for the key. */
        if (avail < 24u + r.extlen + r.keylen)
            return 0;
        if (r.op == OP_SET || r.op == OP_SETQ) {
            iobuf_copy_out(in, 24u + r.extlen, r.key, r.keylen);
            mc_drop(r.key, r.keylen);
        }
        mc_counters_here()->store_too_large++;
        error(o, &r, ST_TOO_LARGE);
        s->swallow = r.bodylen;
        return 24;
    }
    if (avail < 24 + (size_t)r.bodylen)
        return 0;
    iobuf_copy_out(in, 24, r.ext, r.extlen);
    iobuf_copy_out(in, 24u + r.extlen, r.key, r.keylen);
    size_t used = 24 + (size_t)r.bodylen;
    switch (r.op) {
    case OP_GET: case OP_GETQ: case OP_GETK: case OP_GETKQ:
    case OP_TOUCH: case OP_GAT: case OP_GATQ: case OP_GATK: case OP_GATKQ:
        get(&r, o);
        break;
    case OP_DELETE: case OP_DELETEQ: {
        enum mc_res res = mc_delete(r.key, r.keylen, r.cas);
        if (res != MC_DELETED)
            error(o, &r, res == MC_NOT_FOUND ? ST_NOT_FOUND : ST_EXISTS);
        else if (r.op == OP_DELETE)
            header(o, &r, ST_OK, 0, 0, 0, 0);
        break;
    }
    case OP_INCR: case OP_DECR: case OP_INCRQ: case OP_DECRQ:
        arith(&r, o);
        break;
    case OP_QUIT: case OP_QUITQ:
        if (r.op == OP_QUIT)
            header(o, &r, ST_OK, 0, 0, 0, 0);
        s->close = true;
        break;
    case OP_FLUSH: case OP_FLUSHQ: {
        uint32_t e = r.extlen ? get32(r.ext) : 0;
        mc_counters_here()->cmd_flush++;
        mc_flush(e ? mc_exptime((int32_t)e) : 0);
        if (r.op == OP_FLUSH)
            header(o, &r, ST_OK, 0, 0, 0, 0);
        break;
    }
    case OP_NOOP:
        header(o, &r, ST_OK, 0, 0, 0, 0);
        break;
    case OP_VERSION:
        header(o, &r, ST_OK, 0, 0, sizeof MC_VERSION - 1, 0);
        mc_out_str(o, MC_VERSION);
        break;
    case OP_STAT:
        stat(&r, o);
        break;
    default:
        store(&r, in, o);
        break;
    }
    return used;
}
