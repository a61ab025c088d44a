/* The meta commands (mg, ms, md, ma, mn, me) of memcached 1.6's protocol.txt, with memcached
 * 1.6.18's flag rules, answer layouts and error strings: clients parse these byte for byte and
 * the tests compare them with that server's.
 *
 * A command is `<cm> <key> [<datalen>] <flag>*`; each flag is one character, some with a token
 * after it. Flags that return something (k, c, t, O, ...) are answered in the order they came,
 * and flags that change the item (T, N) act in that order too, so `t T30` reports the TTL
 * before the change and `T30 t` after it. */
#include <stdlib.h>
#include "apps/memcached/mc.h"
#include "apps/memcached/text.h"

#define MAX_TOKENS 19     /* command, key, [datalen] and flags: memcached refuses more */
#define OPAQUE_MAX 32     /* an O token, its 'O' included */
#define LINE_OUT 1024     /* an answer line: a base64 key (336) and 17 short flags fit */

struct meta {
    struct tok t[MAX_TOKENS];
    int nt, first;                    /* tokens; index of the first flag */
    bool too_many;
    char key[MC_KEY_MAX];             /* the key, base64-decoded with `b` */
    size_t nkey;
    bool binkey, value, noreply, noupdate, has_cas, stale, vivify, has_ttl, has_recache;
    char mode;
    uint32_t ttl, vivify_ttl, recache, client_flags;
    uint64_t cas, delta, initial;
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return c == '=' ? 0 : p ? (int)(p - b64) : -1;
}

/* memcached's decoder: characters outside the alphabet are skipped, the rest must be whole
 * quartets, and the first quartet with padding ends the key. 0 on failure. */
static size_t b64_decode(const char *s, size_t n, char *out)
{
    size_t valid = 0, len = 0;
    for (size_t i = 0; i < n; i++)
        valid += b64_value(s[i]) >= 0;
    if (valid == 0 || valid % 4)
        return 0;
    unsigned q[4], k = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            continue;
        pad += s[i] == '=';
        q[k++] = (unsigned)v;
        if (k < 4)
            continue;
        k = 0;
        out[len++] = (char)(q[0] << 2 | q[1] >> 4);
        out[len++] = (char)(q[1] << 4 | q[2] >> 2);
        out[len++] = (char)(q[2] << 6 | q[3]);
        if (pad) {
            if (pad > 2)
                return 0;
            return len - pad;
        }
    }
    return len;
}

static char *b64_encode(char *p, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        *p++ = b64[v >> 18];
        *p++ = b64[v >> 12 & 63];
        *p++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? b64[v & 63] : '=';
    }
    return p;
}

static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static char *put_flag_u64(char *p, char f, uint64_t v)
{
    *p++ = ' ';
    *p++ = f;
    return fmt_u64(p, v);
}

/* ` k<key>`, base64 with ` b` after it for a binary key. */
static char *put_key(char *p, const char *key, size_t n, bool bin)
{
    *p++ = ' ';
    *p++ = 'k';
    if (!bin) {
        memcpy(p, key, n);
        return p + n;
    }
    p = b64_encode(p, (const uint8_t *)key, n);
    return put(p, " b");
}

/* ` t<ttl>`: seconds left, -1 for none (memcached prints an expired one modulo 2^32). */
static char *put_ttl(char *p, uint32_t exptime)
{
    if (!exptime)
        return put(p, " t-1");
    return put_flag_u64(p, 't', (uint32_t)(exptime - mc_time()));
}

/* Flag i if it is O (echoed) or k (the key as the request gave it). */
static char *put_echo(char *p, const struct meta *m, int i)
{
    if (m->t[i].p[0] == 'O') {
        *p++ = ' ';
        memcpy(p, m->t[i].p, m->t[i].n);
        p += m->t[i].n;
    } else if (m->t[i].p[0] == 'k') {
        p = put_key(p, m->key, m->nkey, m->binkey);
    }
    return p;
}

/* The O and k flags: what an answer without an item carries. */
static char *put_echoes(char *p, const struct meta *m)
{
    for (int i = m->first; i < m->nt; i++)
        p = put_echo(p, m, i);
    return p;
}

static void out_line(struct mc_out *o, char *line, char *p)
{
    *p++ = '\r';
    *p++ = '\n';
    mc_out_bytes(o, line, (size_t)(p - line));
}

static void tokenize(struct meta *m, const char *line, size_t n)
{
    const char *p = line, *end = line + n;
    m->nt = 0;
    m->too_many = false;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *b = p;
        while (p < end && *p != ' ')
            p++;
        if (m->nt == MAX_TOKENS) {
            m->too_many = true;
            break;
        }
        m->t[m->nt++] = (struct tok){b, (size_t)(p - b)};
    }
}

/* Reads the flags from t[first] on (memcached's _meta_flag_preparse). Returns NULL or the
 * error: an unknown or repeated flag stops at once; for a bad token the last error counts. */
static const char *parse_flags(struct meta *m, int first)
{
    bool seen[128] = {false}, bad = false;
    const char *err = "CLIENT_ERROR bad command line format";
    m->first = first;
    m->delta = 1;
    memcpy(m->key, m->t[1].p, m->t[1].n);
    m->nkey = m->t[1].n;
    for (int i = first; i < m->nt; i++) {
        unsigned char f = (unsigned char)m->t[i].p[0];
        struct tok arg = {m->t[i].p + 1, m->t[i].n - 1};
        int32_t v;
        uint64_t u;
        if (f >= 127 || seen[f])
            return "CLIENT_ERROR duplicate flag";
        seen[f] = true;
        switch (f) {
        case 'b':
            m->nkey = b64_decode(m->t[1].p, m->t[1].n, m->key);
            m->binkey = true;
            if (!m->nkey) {
                err = "CLIENT_ERROR error decoding key";
                bad = true;
            }
            break;
        case 'N': case 'T': case 'R':
            if (!parse_i32(arg, &v)) {
                err = "CLIENT_ERROR bad token in command line format";
                bad = true;
            } else if (f == 'N') {
                m->vivify = true;
                m->vivify_ttl = mc_exptime(v);
            } else if (f == 'T') {
                m->has_ttl = true;
                m->ttl = mc_exptime(v);
            } else {
                m->has_recache = true;
                m->recache = mc_exptime(v);
            }
            break;
        case 'O': case 'P': case 'L': case 'k': case 's': case 't': case 'c': case 'f':
        case 'l': case 'h':
            break;
        case 'v': m->value = true; break;
        case 'u': m->noupdate = true; break;
        case 'q': m->noreply = true; break;
        case 'I': m->stale = true; break;
        case 'F':
            /* memcached's strtoul keeps the low 32 bits of a larger number */
            if (!parse_u64(arg, &u))
                bad = true;
            else
                m->client_flags = (uint32_t)u;
            break;
        case 'C': case 'J': case 'D':
            if (!parse_u64(arg, &u)) {
                err = f == 'C' ? "CLIENT_ERROR bad token in command line format"
                    : f == 'J' ? "CLIENT_ERROR invalid numeric initial value"
                    : "CLIENT_ERROR invalid numeric delta value";
                bad = true;
            } else if (f == 'C') {
                m->has_cas = true;
                m->cas = u;
            } else if (f == 'J') {
                m->initial = u;
            } else {
                m->delta = u;
            }
            break;
        case 'M':
            if (m->t[i].n != 2) {
                err = "CLIENT_ERROR incorrect length for M token";
                bad = true;
            } else {
                m->mode = m->t[i].p[1];
            }
            break;
        default:
            return "CLIENT_ERROR invalid flag";
        }
    }
    return bad ? err : NULL;
}

static bool opaque_too_long(const struct meta *m)
{
    for (int i = m->first; i < m->nt; i++)
        if (m->t[i].p[0] == 'O' && m->t[i].n > OPAQUE_MAX)
            return true;
    return false;
}

/* ---- mg ---- */

struct mg {
    const struct meta *m;
    struct mc_out *o;
    bool hit, touched;
};

static enum mc_act mg_item(struct mc_item *it, bool created, void *arg)
{
    struct mg *g = arg;
    const struct meta *m = g->m;
    if (!it)
        return MC_KEEP;
    char line[LINE_OUT];
    char *p = m->value ? fmt_u64(put(line, "VA "), it->nbytes) : put(line, "HD");
    uint32_t now = mc_time();
    bool won = false;
    g->hit = true;
    for (int i = m->first; i < m->nt; i++) {
        const struct tok *t = &m->t[i];
        switch (t->p[0]) {
        case 'T':
            __atomic_store_n(&it->exptime, m->ttl, __ATOMIC_RELAXED);
            g->touched = true;
            break;
        case 'N':
            if (created) {
                __atomic_store_n(&it->exptime, m->vivify_ttl, __ATOMIC_RELAXED);
                won = true;
            }
            break;
        case 'R':
            if (!(it->meta & MC_META_WON) && !created && it->exptime && it->exptime < m->recache)
                won = true;
            break;
        case 's': p = put_flag_u64(p, 's', it->nbytes); break;
        case 't': p = put_ttl(p, it->exptime); break;
        case 'c': p = put_flag_u64(p, 'c', it->cas); break;
        case 'f': p = put_flag_u64(p, 'f', it->flags); break;
        case 'l': p = put_flag_u64(p, 'l', (uint32_t)(now - it->atime)); break;
        case 'h': p = put(p, it->fetched ? " h1" : " h0"); break;
        case 'O':
            *p++ = ' ';
            memcpy(p, t->p, t->n);
            p += t->n;
            break;
        case 'k': p = put_key(p, it->key, it->nkey, it->meta & MC_META_BINKEY); break;
        }
    }
    if (it->meta & MC_META_WON)
        p = put(p, " Z");
    if (it->meta & MC_META_STALE) {
        p = put(p, " X");
        won |= !(it->meta & MC_META_WON);
    }
    if (won) {
        p = put(p, " W");
        it->meta |= MC_META_WON;
    }
    out_line(g->o, line, p);
    if (m->value) {
        mc_out_value(g->o, it);
        mc_out_bytes(g->o, "\r\n", 2);
    }
    if (!m->noupdate)
        mc_bump(it); /* after answering: h and l report the state before this fetch */
    return MC_KEEP;
}

static void mg(struct meta *m, struct mc_out *o)
{
    struct mc_counters *c = mc_counters_here();
    struct mg g = {m, o, false, false};
    mc_locked(m->key, m->nkey, m->vivify, mg_item, &g);
    if (g.touched) {
        c->cmd_touch++;
        c->touch_hits++;
    } else {
        c->cmd_get++;
        if (g.hit) c->get_hits++; else c->get_misses++;
    }
    if (!g.hit && !m->noreply) {
        char line[LINE_OUT];
        out_line(o, line, put_echoes(put(line, "EN"), m));
    }
}

/* ---- ms ---- */

static size_t ms(struct mc_session *s, struct meta *m, size_t linelen, const struct iobuf *in,
                 size_t avail, struct mc_out *o)
{
    int32_t vlen;
    if (!parse_i32(m->t[2], &vlen) || vlen < 0 || vlen > 2147483647 - 2) {
        mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        return linelen;
    }
    size_t need = (size_t)vlen + 2;
    enum mc_op op = MC_SET;
    const char *err = parse_flags(m, 3);
    if (!err) {
        /* memcached's order: a bad mode is reported before a long opaque */
        switch (m->mode) {
        case 0: case 'S': op = MC_SET; break;
        case 'E': op = MC_ADD; break;
        case 'A': op = MC_APPEND; break;
        case 'P': op = MC_PREPEND; break;
        case 'R': op = MC_REPLACE; break;
        default: err = "CLIENT_ERROR invalid mode for ms M token";
        }
        if (!err && opaque_too_long(m))
            err = "CLIENT_ERROR opaque token too long";
    }
    if (!err && mc_too_large(m->nkey, (size_t)vlen)) {
        err = "SERVER_ERROR object too large for cache";
        mc_counters_here()->store_too_large++;
        mc_drop(m->key, m->nkey); /* as memcached: the old value must not look current */
    }
    if (err) {
        /* memcached reads (and drops) the value of a refused ms */
        mc_out_str(o, err);
        mc_out_str(o, "\r\n");
        s->swallow = need;
        return linelen;
    }
    if (avail < linelen + need)
        return 0;
    char crlf[2];
    iobuf_copy_out(in, linelen + (size_t)vlen, crlf, 2);
    if (crlf[0] != '\r' || crlf[1] != '\n') {
        mc_out_str(o, "CLIENT_ERROR bad data chunk\r\n");
        return linelen + need;
    }
    uint64_t cas = 0, new_cas = 0;
    unsigned how = MC_STORE_DROP | (m->binkey ? MC_STORE_BINKEY : 0);
    if (m->has_cas && op != MC_ADD) {
        cas = m->cas;
        if (op == MC_SET || op == MC_REPLACE) {
            op = MC_CAS; /* replace with a CAS is a cas: the item must exist */
            if (m->stale)
                how |= MC_STORE_STALE_OK;
        }
    }
    mc_counters_here()->cmd_set++;
    struct mc_src v = {in, linelen, (size_t)vlen};
    enum mc_res r = mc_store(op, m->key, m->nkey, m->client_flags, m->has_ttl ? m->ttl : 0, &v,
                             cas, how, &new_cas);
    char line[LINE_OUT], *p = line;
    switch (r) {
    case MC_STORED: p = put(p, "HD"); break;
    case MC_NOT_STORED: p = put(p, "NS"); break;
    case MC_EXISTS: p = put(p, "EX"); break;
    case MC_NOT_FOUND: p = put(p, "NF"); break;
    default:
        mc_counters_here()->store_no_memory++;
        mc_out_str(o, "SERVER_ERROR out of memory storing object\r\n");
        return linelen + need;
    }
    if (r == MC_STORED && m->noreply)
        return linelen + need;
    for (int i = m->first; i < m->nt; i++)
        p = m->t[i].p[0] == 'c' ? put_flag_u64(p, 'c', r == MC_STORED ? new_cas : 0)
                                : put_echo(p, m, i);
    out_line(o, line, p);
    return linelen + need;
}

/* ---- md ---- */

struct md {
    const struct meta *m;
    const char *status;
};

static enum mc_act md_item(struct mc_item *it, bool created, void *arg)
{
    (void)created;
    struct md *d = arg;
    struct mc_counters *c = mc_counters_here();
    if (!it || (d->m->has_cas && it->cas != d->m->cas)) {
        c->delete_misses++;
        d->status = it ? "EX" : "NF";
        return MC_KEEP;
    }
    d->status = "HD";
    if (d->m->stale) {
        /* invalidated: kept for clients that can use stale data, one of them wins a recache */
        if (d->m->has_ttl)
            __atomic_store_n(&it->exptime, d->m->ttl, __ATOMIC_RELAXED);
        it->meta = (uint8_t)((it->meta | MC_META_STALE) & ~MC_META_WON);
        return MC_NEW_CAS;
    }
    c->delete_hits++;
    return MC_UNLINK;
}

static void md(struct meta *m, struct mc_out *o)
{
    struct md d = {m, NULL};
    mc_locked(m->key, m->nkey, false, md_item, &d);
    if (d.status[0] == 'H' && m->noreply)
        return;
    char line[LINE_OUT];
    out_line(o, line, put_echoes(put(line, d.status), m));
}

/* ---- ma ---- */

static void ma(struct meta *m, struct mc_out *o)
{
    bool incr = true;
    switch (m->mode) {
    case 0: case 'I': case '+': break;
    case 'D': case '-': incr = false; break;
    default:
        mc_out_str(o, "CLIENT_ERROR invalid mode for ma M token\r\n");
        return;
    }
    /* The result's expiry: N (when created) and T act in the order given. */
    bool t_last = false;
    for (int i = m->first; i < m->nt; i++)
        if (m->t[i].p[0] == 'T' || m->t[i].p[0] == 'N')
            t_last = m->t[i].p[0] == 'T';
    struct mc_arith a = {.incr = incr, .create = m->vivify, .delta = m->delta,
                         .initial = m->initial, .cas = m->has_cas ? m->cas : 0,
                         .exptime = t_last ? m->ttl : m->vivify_ttl,
                         .touch = m->has_ttl, .new_exptime = m->ttl};
    enum mc_res r = mc_arith(m->key, m->nkey, &a);
    char line[LINE_OUT], *p = line;
    if (r == MC_NON_NUMERIC) {
        mc_out_str(o, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
        return;
    }
    if (r == MC_NO_MEMORY) {
        mc_out_str(o, "SERVER_ERROR out of memory\r\n");
        return;
    }
    if (r != MC_OK) {
        out_line(o, line, put_echoes(put(line, r == MC_EXISTS ? "EX" : "NF"), m));
        return;
    }
    if (m->noreply && !a.created)
        return;
    char num[24];
    size_t nlen = (size_t)(fmt_u64(num, a.value) - num);
    p = m->value ? fmt_u64(put(p, "VA "), nlen) : put(p, "HD");
    uint32_t exp = a.created ? 0 : a.exptime_was;
    for (int i = m->first; i < m->nt; i++) {
        switch (m->t[i].p[0]) {
        case 'c': p = put_flag_u64(p, 'c', a.cas_out); break;
        case 't': p = put_ttl(p, exp); break;
        case 'T': exp = m->ttl; break;
        case 'N': if (a.created) exp = m->vivify_ttl; break;
        default: p = put_echo(p, m, i);
        }
    }
    out_line(o, line, p);
    if (m->value) {
        mc_out_bytes(o, num, nlen);
        mc_out_bytes(o, "\r\n", 2);
    }
}

/* ---- me ---- */

static enum mc_act me_item(struct mc_item *it, bool created, void *arg)
{
    (void)created;
    struct mc_out *o = arg;
    if (!it) {
        mc_out_str(o, "EN\r\n");
        return MC_KEEP;
    }
    char line[LINE_OUT], *p = put(line, "ME ");
    if (it->meta & MC_META_BINKEY)
        p = b64_encode(p, (const uint8_t *)it->key, it->nkey);
    else
        p = (char *)memcpy(p, it->key, it->nkey) + it->nkey;
    uint32_t now = mc_time();
    /* memcached's layout, including its exp (now - expiry: negative while alive) and the size
     * it would give the item; the slab class is our single one. */
    p = put(p, " exp=");
    if (!it->exptime) {
        p = put(p, "-1");
    } else {
        int32_t e = (int32_t)(now - it->exptime);
        if (e < 0)
            *p++ = '-';
        p = fmt_u64(p, e < 0 ? (uint64_t)-(int64_t)e : (uint64_t)e);
    }
    p = fmt_u64(put(p, " la="), (uint32_t)(now - it->atime));
    p = fmt_u64(put(p, " cas="), it->cas);
    p = put(p, it->fetched ? " fetch=yes cls=1 size=" : " fetch=no cls=1 size=");
    p = fmt_u64(p, MC_ITEM_OVERHEAD + 8 + it->nkey + 1 + it->nbytes + 2 + (it->flags ? 4 : 0));
    out_line(o, line, p);
    return MC_KEEP;
}

static void me(struct meta *m, struct mc_out *o)
{
    m->nkey = m->t[1].n;
    memcpy(m->key, m->t[1].p, m->nkey);
    if (m->nt >= 3 && is(m->t[2], "b")) {
        m->nkey = b64_decode(m->t[1].p, m->t[1].n, m->key);
        if (!m->nkey) {
            mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
            return;
        }
    }
    mc_locked(m->key, m->nkey, false, me_item, o);
}

size_t mc_meta_one(struct mc_session *s, const char *line, size_t n, size_t linelen,
                   const struct iobuf *in, size_t avail, struct mc_out *o)
{
    struct meta m;
    memset(&m, 0, sizeof m);
    tokenize(&m, line, n);
    char cmd = m.t[0].p[1];
    mc_counters_here()->cmd_meta++;
    if (cmd == 'n') {
        mc_out_str(o, "MN\r\n");
        return linelen;
    }
    if (cmd == 'e') {
        if (m.nt < 2 || m.t[1].n > MC_KEY_MAX)
            mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        else
            me(&m, o);
        return linelen;
    }
    if ((cmd != 'g' && cmd != 's' && cmd != 'd' && cmd != 'a') || m.nt < 2) {
        mc_out_str(o, "ERROR\r\n");
        return linelen;
    }
    if (m.t[1].n > MC_KEY_MAX) {
        mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        return linelen;
    }
    if (cmd == 's' && m.nt == 2) {
        mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        return linelen;
    }
    if (m.too_many) {
        mc_out_str(o, cmd == 'g' ? "CLIENT_ERROR options flags are too long\r\n"
                                 : "CLIENT_ERROR options flags too long\r\n");
        return linelen;
    }
    if (cmd == 's')
        return ms(s, &m, linelen, in, avail, o);
    const char *err = parse_flags(&m, 2);
    if (err && cmd != 'g')
        err = "CLIENT_ERROR invalid or duplicate flag"; /* md and ma say only this */
    if (!err && opaque_too_long(&m))
        err = "CLIENT_ERROR opaque token too long";
    if (err) {
        mc_out_str(o, err);
        mc_out_str(o, "\r\n");
    } else if (cmd == 'g') {
        mg(&m, o);
    } else if (cmd == 'd') {
        md(&m, o);
    } else {
        ma(&m, o);
    }
    return linelen;
}
