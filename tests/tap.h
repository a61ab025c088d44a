/* A small TAP producer for the tests (Debian has no C TAP library).
 *
 *   tap_plan(n);            first, whenever the number of assertions is known: prints "1..n", so
 *                           prove fails a run that ends before n assertions ("Bad plan")
 *   tap_deadline(seconds);  hosted: past it, the test prints "not ok N - timed out after S s"
 *                           and exits non-zero (a hang fails with a reason, not a lost CI run)
 *   ok(cond, fmt, ...); is(got, want, fmt, ...); diag(fmt, ...);
 *   tap_skip_all(why);      "1..0 # SKIP why", only where the machine lacks a capability
 *   return tap_done();      last: prints the plan if none was given first, checks the count
 *                           against the plan, and gives the exit status (non-zero on failure)
 *
 * Hosted, an exit that skips tap_done() (exit(0) in the middle, a return from main) or ends
 * short of the plan fails too: an atexit check prints why and makes the status non-zero.
 * Natively there is no atexit; the plan printed first is what makes prove see a short run. */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#ifdef EBB_HOSTED
#include <signal.h>
#include <unistd.h>
#endif

static atomic_int tap_n, tap_failed, tap_planned, tap_finished;
static atomic_flag tap_lock = ATOMIC_FLAG_INIT; /* keeps numbers in print order across cores */

#ifdef EBB_HOSTED
static pid_t tap_pid; /* a forked child's exit is not the test's end */

static void tap_check_at_exit_(void)
{
    if (getpid() != tap_pid)
        return;
    if (atomic_load(&tap_finished)) /* tap_done() has judged the count */
        return;
    char why[160];
    int n = atomic_load(&tap_n), planned = atomic_load(&tap_planned);
    if (planned > 0)
        snprintf(why, sizeof why, "exited after %d of %d planned assertions, without tap_done()", n, planned);
    else
        snprintf(why, sizeof why, "exited after %d assertions, without tap_done()", n);
    fflush(stdout);
    fprintf(stderr, "tap: %s\n", why);
    _exit(1);
}

__attribute__((constructor)) static void tap_init_(void)
{
    tap_pid = getpid();
    atexit(tap_check_at_exit_);
}

/* Async-signal-safe: formats with plain code and write(2); stdout is flushed after every line,
 * so nothing of the test's own output is pending. */
static unsigned tap_deadline_s;
static void tap_put_(int fd, const char *s) { ssize_t r = write(fd, s, strlen(s)); (void)r; }
static const char *tap_num_(char b[12], unsigned v)
{
    char *p = b + 11;
    *p = 0;
    do *--p = (char)('0' + v % 10); while (v /= 10);
    return p;
}
static void tap_on_alarm_(int sig)
{
    (void)sig;
    char b[12];
    tap_put_(1, "not ok ");
    tap_put_(1, tap_num_(b, (unsigned)atomic_load(&tap_n) + 1));
    tap_put_(1, " - timed out after ");
    tap_put_(1, tap_num_(b, tap_deadline_s));
    tap_put_(1, " s\n");
    /* prove shows a test's stderr, not its comments: the reason goes there too. */
    tap_put_(2, "tap: timed out after ");
    tap_put_(2, tap_num_(b, tap_deadline_s));
    tap_put_(2, " s (tap_deadline)\n");
    _exit(1);
}
static inline void tap_deadline(unsigned seconds)
{
    tap_deadline_s = seconds;
    signal(SIGALRM, tap_on_alarm_);
    alarm(seconds);
}
#endif

static inline void tap_plan(int n)
{
    atomic_store(&tap_planned, n);
    printf("1..%d\n", n);
    fflush(stdout);
}

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
    fflush(stdout);
    if (!cond) { /* to stderr, as Test::More does: prove shows it without -v */
        atomic_fetch_add(&tap_failed, 1);
        fprintf(stderr, "#   failed test %d at %s:%d\n", n, file, line);
    }
    atomic_flag_clear(&tap_lock);
    return cond;
}
#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is(got, want, ...) ({ long long g_ = (long long)(got), w_ = (long long)(want); \
    int r_ = ok(g_ == w_, __VA_ARGS__); if (!r_) fprintf(stderr, "#   got %lld, want %lld\n", g_, w_); r_; })

static inline void tap_skip_all(const char *why)
{
    atomic_store(&tap_finished, 1);
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(0);
}
/* n assertions that this build or machine cannot make, counted against the plan. */
static inline void tap_skip(int n, const char *why)
{
    for (int i = 0; i < n; i++)
        printf("ok %d # SKIP %s\n", atomic_fetch_add(&tap_n, 1) + 1, why);
    fflush(stdout);
}
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

static inline int tap_done_(void)
{
    int n = atomic_load(&tap_n), planned = atomic_load(&tap_planned);
    atomic_store(&tap_finished, 1);
    if (!planned)
        printf("1..%d\n", n);
    fflush(stdout);
    if (planned && n != planned)
        fprintf(stderr, "tap: planned %d assertions but ran %d\n", planned, n);
    return atomic_load(&tap_failed) || (planned && n != planned) ? 1 : 0;
}
/* An argument is accepted and ignored: tests written before tap_plan() call tap_done(0). */
#define tap_done(...) tap_done_()
