/* memcached: tokens and numbers of the ASCII command lines (ascii.c and meta.c), parsed with the
 * rules of memcached's safe_strto* so that the same lines are accepted and refused. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tok {
    const char *p;
    size_t n;
};

static inline bool is(struct tok t, const char *s)
{
    size_t n = strlen(s);
    return t.n == n && memcmp(t.p, s, n) == 0;
}

/* Unsigned decimal as strtoull takes it from a token: optional '+', digits, no overflow. */
static inline bool parse_u64(struct tok t, uint64_t *v)
{
    size_t i = t.n && t.p[0] == '+' ? 1 : 0;
    if (i == t.n)
        return false;
    uint64_t x = 0;
    for (; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
        unsigned d = (unsigned)(t.p[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

/* A signed 32-bit decimal (memcached's safe_strtol). */
static inline bool parse_i32(struct tok t, int32_t *v)
{
    bool neg = t.n && t.p[0] == '-';
    struct tok u = t;
    if (neg) { u.p++; u.n--; }
    uint64_t x;
    if (!parse_u64(u, &x) || x > (neg ? 2147483648ull : 2147483647ull) || (neg && u.n && u.p[0] == '+'))
        return false;
    *v = neg ? (int32_t)-(int64_t)x : (int32_t)x;
    return true;
}

static inline char *fmt_u64(char *p, uint64_t v)
{
    char t[20];
    int n = 0;
    do t[n++] = (char)('0' + v % 10); while ((v /= 10));
    while (n)
        *p++ = t[--n];
    return p;
}
