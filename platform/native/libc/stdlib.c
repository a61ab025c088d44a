/* The rest of the native libc: number parsing, sorting, rand, errno, exit and abort. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/platform.h"
#include "ebb_platform.h"

static int errnos[64];
int *native_errno_location(void) { return &errnos[ebb_core() & 63]; }

/* Parses the magnitude; sets *neg and *end like strtoull, *overflow when it did not fit. */
static unsigned long long parse(const char *s, char **end, int base, bool *neg, bool *overflow)
{
    const char *p = s;
    *neg = false;
    *overflow = false;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '-' || *p == '+')
        *neg = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = *p == '0' ? 8 : 10;
    }
    unsigned long long v = 0;
    const char *start = p;
    for (;; p++) {
        int d;
        if (isdigit((unsigned char)*p)) d = *p - '0';
        else if (*p >= 'a' && *p <= 'z') d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'Z') d = *p - 'A' + 10;
        else break;
        if (d >= base)
            break;
        if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
            *overflow = true;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (end)
        *end = (char *)(p == start ? s : p);
    return v;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
    bool neg, of;
    unsigned long long v = parse(s, end, base, &neg, &of);
    if (of) {
        errno = ERANGE;
        return ULLONG_MAX;
    }
    return neg ? 0ull - v : v;
}
unsigned long strtoul(const char *s, char **end, int base) { return strtoull(s, end, base); }

long long strtoll(const char *s, char **end, int base)
{
    bool neg, of;
    unsigned long long v = parse(s, end, base, &neg, &of);
    if (of || v > (neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX)) {
        errno = ERANGE;
        return neg ? LLONG_MIN : LLONG_MAX;
    }
    return neg ? (long long)(0ull - v) : (long long)v;
}
long strtol(const char *s, char **end, int base) { return strtoll(s, end, base); }
int atoi(const char *s) { return (int)strtol(s, NULL, 10); }
long atol(const char *s) { return strtol(s, NULL, 10); }
int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }
long long llabs(long long x) { return x < 0 ? -x : x; }

static void swap(char *a, char *b, size_t size)
{
    while (size--) {
        char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

static void sift(char *base, size_t i, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && cmp(base + c * size, base + (c + 1) * size) < 0)
            c++;
        if (cmp(base + i * size, base + c * size) >= 0)
            return;
        swap(base + i * size, base + c * size, size);
        i = c;
    }
}

/* Heapsort: O(n log n) always, no recursion, no extra memory. */
void qsort(void *b, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    char *base = b;
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift(base, i, n, size, cmp);
    for (size_t e = n - 1; e > 0; e--) {
        swap(base, base + e * size, size);
        sift(base, 0, e, size, cmp);
    }
}

void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *p = (const char *)base + mid * size;
        int c = cmp(key, p);
        if (c == 0)
            return (void *)p;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int rand_r(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (int)((*seed >> 1) & RAND_MAX);
}
static unsigned rand_seed = 1;
int rand(void) { return rand_r(&rand_seed); }
void srand(unsigned seed) { rand_seed = seed; }

char *getenv(const char *name)
{
    (void)name;
    return NULL;
}

int setenv(const char *name, const char *value, int overwrite)
{
    (void)name, (void)value, (void)overwrite;
    return 0;
}

int unsetenv(const char *name)
{
    (void)name;
    return 0;
}

int64_t native_wall_ns(void); /* rtc.c */

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    uint64_t ns = clk == CLOCK_REALTIME ? (uint64_t)native_wall_ns() : platform_now_ns();
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
    return 0;
}

extern __attribute__((noreturn)) void native_machine_exit(int code);
void exit(int code) { native_machine_exit(code); }
void _Exit(int code) { native_machine_exit(code); }
void abort(void) { platform_abort(); }

void native_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "%s:%d: %s: assertion `%s' failed\n", file, line, func, expr);
    platform_abort();
}
