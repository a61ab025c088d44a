/* The ASCII protocol (memcached's doc/protocol.txt), with memcached 1.6's token counts, number
 * rules and error strings, since real clients and tests compare against that server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apps/memcached/mc.h"
#include "apps/memcached/text.h"

#define LINE_MAX_PLAIN 2048    /* beyond this without a newline only get/gets may go on */
#define LINE_MAX_GET 65536     /* ...and they up to this (memcached has no bound here) */
#define MAX_TOKENS 8

static void reply(struct mc_out *o, bool noreply, const char *s)
{
    if (!noreply)
        mc_out_str(o, s);
}

/* Offset of the first '\n' within the first `limit` bytes, or SIZE_MAX. */
static size_t find_lf(const struct iobuf *in, size_t limit)
{
    size_t off = 0;
    const struct iobuf *b = in;
    do {
        size_t n = b->len < limit - off ? b->len : limit - off;
        const uint8_t *p = memchr(b->data, '\n', n);
        if (p)
            return off + (size_t)(p - b->data);
        off += n;
        b = b->next;
    } while (b != in && off < limit);
    return SIZE_MAX;
}

static const char *res_str(enum mc_res r)
{
    switch (r) {
    case MC_STORED: return "STORED\r\n";
    case MC_NOT_STORED: return "NOT_STORED\r\n";
    case MC_EXISTS: return "EXISTS\r\n";
    case MC_NOT_FOUND: return "NOT_FOUND\r\n";
    case MC_TOO_LARGE: return "SERVER_ERROR object too large for cache\r\n";
    case MC_DELETED: return "DELETED\r\n";
    case MC_TOUCHED: return "TOUCHED\r\n";
    case MC_NON_NUMERIC: return "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    default: return "SERVER_ERROR out of memory storing object\r\n";
    }
}

/* set/add/replace/append/prepend/cas: the line is `linelen` bytes including its newline. */
static size_t storage(struct mc_session *s, struct tok *t, int nt, size_t linelen,
                      const struct iobuf *in, size_t avail, struct mc_out *o)
{
    enum mc_op op = is(t[0], "set") ? MC_SET : is(t[0], "add") ? MC_ADD
                  : is(t[0], "replace") ? MC_REPLACE : is(t[0], "append") ? MC_APPEND
                  : is(t[0], "prepend") ? MC_PREPEND : MC_CAS;
    int args = op == MC_CAS ? 6 : 5;
    if (nt != args && nt != args + 1) {
        mc_out_str(o, "ERROR\r\n");
        return linelen;
    }
    bool noreply = nt == args + 1 && is(t[args], "noreply");
    uint64_t flags, cas = 0;
    int32_t exptime, vlen;
    if (t[1].n > MC_KEY_MAX || !parse_u64(t[2], &flags) || !parse_i32(t[3], &exptime) ||
        !parse_i32(t[4], &vlen) || vlen < 0 || vlen > 2147483647 - 2 ||
        (op == MC_CAS && !parse_u64(t[5], &cas))) {
        mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        return linelen;
    }
    size_t need = (size_t)vlen + 2;
    if (mc_too_large(t[1].n, (size_t)vlen)) {
        /* Refused before it arrives: reply now, discard the data as it comes. A set also
         * drops the old value (memcached would otherwise serve it as if stored). */
        mc_counters_here()->store_too_large++;
        if (op == MC_SET)
            mc_drop(t[1].p, t[1].n);
        reply(o, noreply, "SERVER_ERROR object too large for cache\r\n");
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
    mc_counters_here()->cmd_set++;
    struct mc_src v = {in, linelen, (size_t)vlen};
    enum mc_res r = mc_store(op, t[1].p, t[1].n, (uint32_t)flags, mc_exptime(exptime), &v, cas,
                             0, NULL);
    if (r == MC_TOO_LARGE)
        mc_counters_here()->store_too_large++;
    if (r == MC_NO_MEMORY)
        mc_counters_here()->store_no_memory++;
    reply(o, noreply, res_str(r));
    return linelen + need;
}

/* get/gets/gat/gats: keys from `rest` to `end`. */
static void retrieval(struct tok *t, const char *rest, const char *end, struct mc_out *o)
{
    bool with_cas = is(t[0], "gets") || is(t[0], "gats");
    bool touch = t[0].p[1] == 'a';
    uint32_t exp = 0;
    if (touch) {
        int32_t e;
        if (!parse_i32(t[1], &e)) {
            mc_out_str(o, "CLIENT_ERROR invalid exptime argument\r\n");
            return;
        }
        exp = mc_exptime(e);
    }
    /* memcached answers a key too long with the error alone, nothing before it. */
    for (const char *p = rest, *k = rest; p <= end; p++) {
        if (p < end && *p != ' ')
            continue;
        if ((size_t)(p - k) > MC_KEY_MAX) {
            mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
            return;
        }
        k = p + 1;
    }
    struct mc_counters *c = mc_counters_here();
    for (const char *p = rest; p < end;) {
        while (p < end && *p == ' ')
            p++;
        const char *k = p;
        while (p < end && *p != ' ')
            p++;
        size_t nk = (size_t)(p - k);
        if (!nk)
            break;
        struct mc_item *it = mc_get(k, nk, touch ? &exp : NULL);
        if (touch) {
            c->cmd_touch++;
            if (it) c->touch_hits++; else c->touch_misses++;
        }
        c->cmd_get++;
        if (!it) {
            c->get_misses++;
            continue;
        }
        c->get_hits++;
        char line[MC_KEY_MAX + 80], *q = line;
        memcpy(q, "VALUE ", 6);
        q += 6;
        memcpy(q, k, nk);
        q += nk;
        *q++ = ' ';
        q = fmt_u64(q, it->flags);
        *q++ = ' ';
        q = fmt_u64(q, it->nbytes);
        if (with_cas) {
            *q++ = ' ';
            q = fmt_u64(q, it->cas);
        }
        *q++ = '\r';
        *q++ = '\n';
        mc_out_bytes(o, line, (size_t)(q - line));
        mc_out_value(o, it);
        mc_out_bytes(o, "\r\n", 2);
    }
    mc_out_bytes(o, "END\r\n", 5);
}

static void arith(struct tok *t, int nt, struct mc_out *o)
{
    bool noreply = nt == 4 && is(t[3], "noreply");
    uint64_t delta;
    if (t[1].n > MC_KEY_MAX) {
        mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        return;
    }
    if (!parse_u64(t[2], &delta)) {
        mc_out_str(o, "CLIENT_ERROR invalid numeric delta argument\r\n");
        return;
    }
    struct mc_arith a = {.incr = t[0].p[0] == 'i', .delta = delta};
    enum mc_res r = mc_arith(t[1].p, t[1].n, &a);
    if (r == MC_OK) {
        char b[24];
        char *e = fmt_u64(b, a.value);
        *e++ = '\r';
        *e++ = '\n';
        if (!noreply)
            mc_out_bytes(o, b, (size_t)(e - b));
    } else if (r == MC_NO_MEMORY) {
        mc_out_str(o, "SERVER_ERROR out of memory\r\n");
    } else {
        reply(o, noreply && r == MC_NOT_FOUND, res_str(r));
    }
}

static void stat_line(void *arg, const char *name, const char *value)
{
    struct mc_out *o = arg;
    mc_out_str(o, "STAT ");
    mc_out_str(o, name);
    mc_out_str(o, " ");
    mc_out_str(o, value);
    mc_out_str(o, "\r\n");
}

void mc_stats_reset(void);

static void stats(struct tok *t, int nt, struct mc_out *o)
{
    if (nt == 1) {
        mc_stats(NULL, stat_line, o);
        mc_out_str(o, "END\r\n");
        return;
    }
    char group[16];
    if (t[1].n >= sizeof group) {
        mc_out_str(o, "ERROR\r\n");
        return;
    }
    memcpy(group, t[1].p, t[1].n);
    group[t[1].n] = 0;
    if (strcmp(group, "reset") == 0) {
        mc_stats_reset();
        mc_out_str(o, "RESET\r\n");
    } else if (strcmp(group, "detail") == 0) {
        mc_out_str(o, "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
    } else if (mc_stats(group, stat_line, o)) {
        mc_out_str(o, "END\r\n");
    } else {
        mc_out_str(o, "ERROR\r\n");
    }
}

static void simple(struct mc_session *s, struct tok *t, int nt, struct mc_out *o)
{
    if (is(t[0], "delete") && nt >= 2 && nt <= 4) {
        bool zero = nt > 2 && is(t[2], "0");
        bool noreply = is(t[nt - 1], "noreply");
        if (nt > 2 && !((nt == 3 && (zero || noreply)) || (nt == 4 && zero && noreply))) {
            mc_out_str(o, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
        } else if (t[1].n > MC_KEY_MAX) {
            mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        } else {
            reply(o, noreply, res_str(mc_delete(t[1].p, t[1].n, 0)));
        }
    } else if ((is(t[0], "incr") || is(t[0], "decr")) && (nt == 3 || nt == 4)) {
        arith(t, nt, o);
    } else if (is(t[0], "touch") && (nt == 3 || nt == 4)) {
        bool noreply = nt == 4 && is(t[3], "noreply");
        int32_t e;
        if (t[1].n > MC_KEY_MAX) {
            mc_out_str(o, "CLIENT_ERROR bad command line format\r\n");
        } else if (!parse_i32(t[2], &e)) {
            mc_out_str(o, "CLIENT_ERROR invalid exptime argument\r\n");
        } else {
            uint32_t exp = mc_exptime(e);
            struct mc_counters *c = mc_counters_here();
            c->cmd_touch++;
            struct mc_item *it = mc_get(t[1].p, t[1].n, &exp);
            if (it) c->touch_hits++; else c->touch_misses++;
            reply(o, noreply, it ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
        }
    } else if (is(t[0], "flush_all") && nt <= 3) {
        bool noreply = is(t[nt - 1], "noreply");
        int32_t delay = 0;
        if (nt - noreply == 2 && !parse_i32(t[1], &delay)) {
            mc_out_str(o, "CLIENT_ERROR invalid exptime argument\r\n");
            return;
        }
        mc_counters_here()->cmd_flush++;
        mc_flush(delay > 0 ? mc_exptime(delay) : 0);
        reply(o, noreply, "OK\r\n");
    } else if (is(t[0], "version")) {
        mc_out_str(o, "VERSION " MC_VERSION "\r\n");
    } else if (is(t[0], "verbosity") && (nt == 2 || nt == 3)) {
        uint64_t level;
        bool noreply = is(t[nt - 1], "noreply");
        if (!parse_u64(t[1], &level)) {
            reply(o, noreply, "CLIENT_ERROR bad command line format\r\n");
            return;
        }
        mc_settings.verbosity = level > 2 ? 2 : (unsigned)level; /* memcached's highest */
        reply(o, noreply, "OK\r\n");
    } else if (is(t[0], "cache_memlimit") && (nt == 2 || nt == 3)) {
        uint64_t mib;
        bool noreply = is(t[nt - 1], "noreply");
        /* memcached's bounds; the new limit applies from the next store on (evicting then) */
        if (!parse_u64(t[1], &mib))
            reply(o, noreply, "ERROR\r\n");
        else if (mib < 8)
            reply(o, noreply, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
        else if (mib > 1000000000)
            reply(o, noreply, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
        else {
            __atomic_store_n(&mc_settings.mem_limit, (size_t)mib << 20, __ATOMIC_RELAXED);
            reply(o, noreply, "OK\r\n");
        }
    } else if (is(t[0], "shutdown")) {
        mc_out_str(o, "ERROR: shutdown not enabled\r\n"); /* as memcached without -A */
    } else if (is(t[0], "quit")) {
        s->close = true;
    } else if (is(t[0], "stats")) {
        stats(t, nt, o);
    } else {
        mc_out_str(o, "ERROR\r\n");
    }
}

/* One command on a line of n bytes (without the newline), the whole line being linelen. */
static size_t command(struct mc_session *s, const char *line, size_t n, size_t linelen,
                      const struct iobuf *in, size_t avail, struct mc_out *o)
{
    if (n && line[n - 1] == '\r')
        n--;
    /* memcached's meta commands: a two-character command word starting with 'm' */
    const char *w = line;
    while (w < line + n && *w == ' ')
        w++;
    if (line + n - w >= 2 && w[0] == 'm' && (line + n - w == 2 || w[2] == ' '))
        return mc_meta_one(s, line, n, linelen, in, avail, o);
    struct tok t[MAX_TOKENS];
    int nt = 0;
    const char *p = line, *end = line + n, *rest = end;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        if (nt == MAX_TOKENS) {
            rest = p;
            nt++;
            break;
        }
        const char *b = p;
        while (p < end && *p != ' ')
            p++;
        t[nt++] = (struct tok){b, (size_t)(p - b)};
    }
    if (nt == 0) {
        mc_out_str(o, "ERROR\r\n");
        return linelen;
    }
    bool get = is(t[0], "get") || is(t[0], "gets");
    bool gat = is(t[0], "gat") || is(t[0], "gats");
    if ((get && nt >= 2) || (gat && nt >= 2)) {
        retrieval(t, nt > (get ? 1 : 2) ? t[get ? 1 : 2].p : end, end, o);
        return linelen;
    }
    if (nt > MAX_TOKENS) {
        mc_out_str(o, "ERROR\r\n");
        return linelen;
    }
    if (is(t[0], "set") || is(t[0], "add") || is(t[0], "replace") || is(t[0], "append") ||
        is(t[0], "prepend") || is(t[0], "cas"))
        return storage(s, t, nt, linelen, in, avail, o);
    (void)rest;
    simple(s, t, nt, o);
    return linelen;
}

size_t mc_ascii_one(struct mc_session *s, const struct iobuf *in, size_t avail, struct mc_out *o)
{
    size_t lf = find_lf(in, LINE_MAX_GET);
    if (lf == SIZE_MAX) {
        char head[5] = {0};
        iobuf_copy_out(in, 0, head, sizeof head);
        bool get = memcmp(head, "get ", 4) == 0 || memcmp(head, "gets ", 5) == 0;
        if (avail > (get ? LINE_MAX_GET : LINE_MAX_PLAIN)) {
            /* memcached closes here too: no command line is that long. */
            mc_counters_here()->conn_line_too_long++;
            s->close = true;
        }
        return 0;
    }
    if (lf < in->len)
        return command(s, (const char *)in->data, lf, lf + 1, in, avail, o);
    char *line = malloc(lf + 1);
    if (!line) {
        s->close = true;
        return 0;
    }
    iobuf_copy_out(in, 0, line, lf);
    size_t r = command(s, line, lf, lf + 1, in, avail, o);
    free(line);
    return r;
}
