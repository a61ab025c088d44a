/* Misuse gets a clear report, not silent corruption: each case runs in a child process whose
 * stderr and exit are checked. Double free and interior pointers are detected in debug builds
 * (MEM_CHECKS: the ASan variant, or -DMEM_DEBUG); a pointer outside every range of the page
 * allocator is reported in every build. */
#define _GNU_SOURCE
#include "mem/gp.h"
#include "tap.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn in a child; returns its stderr in buf and whether it died of SIGABRT. */
static int run(void (*fn)(void), char *buf, size_t len)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        signal(SIGALRM, SIG_DFL); /* the parent's deadline handler prints TAP */
        alarm(10);
        fn();
        _exit(0);
    }
    close(pfd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len && (r = read(pfd[0], buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    for (char *nl; (nl = strchr(buf, '\n'));)
        *nl = ' ';
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void double_free_small(void)
{
    struct gp *g = gp_self();
    void *p = gp_malloc(g, 40);
    gp_free(g, p);
    gp_free(g, p);
}
static void double_free_large(void)
{
    struct gp *g = gp_self();
    void *keep = gp_malloc(g, 100000); /* so the freed block's head does not merge away */
    void *p = gp_malloc(g, 100000);
    gp_free(g, p);
    gp_free(g, p);
    (void)keep;
}
static void double_free_huge(void) /* beyond the largest class: straight to the buddy lists */
{
    struct gp *g = gp_self();
    void *keep = gp_malloc(g, 3 << 20);
    void *p = gp_malloc(g, 3 << 20);
    gp_free(g, p);
    gp_free(g, p);
    (void)keep;
}
static void interior_pointer(void)
{
    struct gp *g = gp_self();
    char *p = gp_malloc(g, 64);
    gp_free(g, p + 8);
}
static void foreign_pointer(void)
{
    int on_stack;
    gp_free(gp_self(), &on_stack);
}
static void large_interior(void)
{
    struct gp *g = gp_self();
    char *p = gp_malloc(g, 1 << 20);
    gp_free(g, p + 8192);
}

int main(void)
{
    tap_plan(6);
    tap_deadline(120);
    setenv("EBB_ARENA_MB", "256", 1);
    char buf[4096];
    int ab;

    ab = run(foreign_pointer, buf, sizeof buf);
    ok(ab && strstr(buf, "not returned by the allocator"),
       "free of a stack address is reported and stops the program");
    ab = run(large_interior, buf, sizeof buf);
    ok(ab && strstr(buf, "not returned by the allocator"),
       "free of a pointer inside a large block is reported");
    ab = run(double_free_large, buf, sizeof buf);
    ok(ab && (strstr(buf, "double free") || strstr(buf, "not returned")),
       "double free of a large block is reported: %.80s", buf);
    ab = run(double_free_huge, buf, sizeof buf);
    ok(ab && (strstr(buf, "double free") || strstr(buf, "not returned")),
       "double free of a 3 MiB block is reported: %.80s", buf);
    if (MEM_CHECKS) {
        ab = run(double_free_small, buf, sizeof buf);
        ok(ab && strstr(buf, "double free"), "double free of a small object is reported: %.80s", buf);
        ab = run(interior_pointer, buf, sizeof buf);
        ok(ab && strstr(buf, "not returned by the allocator"),
           "free of a pointer inside a small object is reported: %.80s", buf);
    } else {
        tap_skip(1, "small-object double free is checked in debug builds (asan variant)");
        tap_skip(1, "interior pointers are checked in debug builds (asan variant)");
    }
    return tap_done();
}
