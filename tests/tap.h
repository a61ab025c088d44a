/* A small TAP producer for the tests (Debian has no C TAP library). Each test binary prints
 * "1..N" (or a plan at the end), one "ok"/"not ok" line per assertion, and exits non-zero if any
 * assertion failed, so prove reports the file as failed. */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

static atomic_int tap_n, tap_failed;
static atomic_flag tap_lock = ATOMIC_FLAG_INIT; /* keeps numbers in print order across cores */

static inline void tap_plan(int n) { printf("1..%d\n", n); fflush(stdout); }

static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    while (atomic_flag_test_and_set(&tap_lock))
        ;
    int n = atomic_fetch_add(&tap_n, 1) + 1;
    printf("%sok %d - %s\n", cond ? "" : "not ", n, msg);
    if (!cond) {
        atomic_fetch_add(&tap_failed, 1);
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    atomic_flag_clear(&tap_lock);
    return cond;
}
#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is(got, want, ...) ({ long long g_ = (long long)(got), w_ = (long long)(want); \
    int r_ = ok(g_ == w_, __VA_ARGS__); if (!r_) printf("#   got %lld, want %lld\n", g_, w_); r_; })

static inline void tap_skip_all(const char *why) { printf("1..0 # SKIP %s\n", why); fflush(stdout); exit(0); }
static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}
/* Ends the test: prints the plan if none was given first and returns the exit status. */
static inline int tap_done(int planned)
{
    if (!planned) printf("1..%d\n", atomic_load(&tap_n));
    fflush(stdout);
    return atomic_load(&tap_failed) ? 1 : 0;
}
