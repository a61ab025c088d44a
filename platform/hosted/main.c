/* Hosted platform: a core is a pinned pthread running the event loop over its own epoll set; an
 * eventfd wakes it for remote spawns; "physical" stacks are mmap'd with a guard page. */
#define _GNU_SOURCE
#include "core/config.h"
#include "core/context.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/platform.h"
#include "ebb_hosted.h"
#include "host_numa.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <valgrind/valgrind.h>

__thread unsigned ebb_core_id __attribute__((tls_model("local-exec"))) = ~0u;
__thread void **ebb_ltt_base __attribute__((tls_model("local-exec")));
static __thread size_t ltt_bytes;

/* This thread's translation table (include/ebb_platform.h), made once per thread: a slot per id,
 * reserved, not committed. Under valgrind a core's table covers the ids of the first 2^10 nodes
 * only: its client address space ends at 128 GiB, and memcheck reads every mapped byte when a
 * program dies of a signal (minutes for 32 GiB). */
static void ltt_setup(void)
{
    if (ebb_ltt_base)
        return;
    size_t n = sizeof(void *) << 32;
    if (RUNNING_ON_VALGRIND)
        n >>= EBB_NODE_BITS - 10;
    void *t = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (t == MAP_FAILED)
        ebb_panic("hosted: cannot reserve %zu GiB of address space for a core's translation "
                  "table: %s (vm.overcommit_memory=2 refuses it)", n >> 30, strerror(errno));
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)t) != 0)
        ebb_panic("hosted: cannot set %%gs for the translation table: %s", strerror(errno));
    ebb_ltt_base = t;
    ltt_bytes = n;
}

/* The program's first thread has one from the start, as it had with a thread-local table: a
 * program (or test) may call an Ebb before ebb_run() makes it core 0. */
__attribute__((constructor)) static void ltt_main_thread(void) { ltt_setup(); }

static void ltt_release(void)
{
    syscall(SYS_arch_prctl, ARCH_SET_GS, 0ul);
    munmap(ebb_ltt_base, ltt_bytes);
    ebb_ltt_base = NULL;
}

#define MAX_FDS 4096

struct watch {
    ebb_fd_fn fn;
    void *arg;
};

static struct hcore {
    pthread_t thread;
    int epfd, wakefd;
    struct watch *watches; /* by fd, this core's */
} hc[EBB_MAX_CORES];

static unsigned ncores;

uint64_t platform_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int dispatch(struct hcore *h, struct epoll_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        if (fd == h->wakefd) {
            uint64_t v;
            if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
                ebb_panic("hosted: wake read: %s", strerror(errno));
            continue;
        }
        struct watch *w = &h->watches[fd];
        if (w->fn)
            w->fn(w->arg, ev[i].events);
    }
    return n;
}

static int wait_events(uint64_t deadline_ns, bool sleep)
{
    struct hcore *h = &hc[ebb_core()];
    struct epoll_event ev[64];
    struct timespec ts = { 0, 0 }, *tp = &ts;
    if (sleep) {
        if (deadline_ns == UINT64_MAX) {
            tp = NULL;
        } else {
            uint64_t now = platform_now_ns();
            uint64_t d = deadline_ns > now ? deadline_ns - now : 0;
            ts.tv_sec = (time_t)(d / 1000000000u);
            ts.tv_nsec = (long)(d % 1000000000u);
        }
    }
    static bool no_pwait2; /* e.g. under valgrind: fall back to millisecond timeouts */
    int n = -1;
    if (!sleep) { /* epoll_pwait2 with a zero timeout may still schedule on some kernels */
        n = epoll_wait(h->epfd, ev, 64, 0);
    } else if (!no_pwait2) {
        n = epoll_pwait2(h->epfd, ev, 64, tp, NULL);
        if (n < 0 && errno == ENOSYS)
            no_pwait2 = true;
    }
    if (sleep && no_pwait2)
        n = epoll_wait(h->epfd, ev, 64, !tp ? -1 : (int)(ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000));
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        ebb_panic("hosted: epoll_pwait2: %s", strerror(errno));
    }
    return dispatch(h, ev, n);
}

int platform_poll(void) { return wait_events(0, false); }
void platform_wait(uint64_t deadline_ns) { wait_events(deadline_ns, true); }

void platform_wake(unsigned core)
{
    uint64_t one = 1;
    if (write(hc[core].wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        ebb_panic("hosted: wake write: %s", strerror(errno));
}

/* Context stacks: a guard page below each. Valgrind is told about them (otherwise it takes a
 * switch to another stack for a huge stack-pointer move and reports bogus errors); the id it
 * gives is kept in the first word of the guard page. */
void *platform_stack_alloc(size_t size)
{
    size_t guard = 4096;
    char *p = mmap(NULL, size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *(unsigned *)p = VALGRIND_STACK_REGISTER(p + guard, p + guard + size);
    mprotect(p, guard, PROT_NONE);
    return p + guard;
}

void platform_stack_free(void *base, size_t size)
{
    char *p = (char *)base - 4096;
    mprotect(p, 4096, PROT_READ);
    VALGRIND_STACK_DEREGISTER(*(unsigned *)p);
    munmap(p, size + 4096);
}

void platform_exit(int code) { (void)code; }

void platform_abort(void) { abort(); }

void platform_console_write(const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

int ebb_fd_watch(int fd, uint32_t events, ebb_fd_fn fn, void *arg)
{
    if (fd < 0 || fd >= MAX_FDS || ebb_core() >= ncores)
        return -EINVAL;
    struct hcore *h = &hc[ebb_core()];
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    h->watches[fd] = (struct watch){ fn, arg };
    return 0;
}

int ebb_fd_modify(int fd, uint32_t events)
{
    if (ebb_core() >= ncores)
        return -EINVAL;
    struct epoll_event ev = { .events = events, .data.fd = fd };
    return epoll_ctl(hc[ebb_core()].epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int ebb_fd_unwatch(int fd)
{
    if (fd < 0 || fd >= MAX_FDS || ebb_core() >= ncores)
        return -EINVAL;
    struct hcore *h = &hc[ebb_core()];
    h->watches[fd] = (struct watch){ 0 };
    return epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

/* cpu=K: core c runs on CPU K+c, so that node processes sharing a machine need not share CPUs. */
static unsigned first_cpu;
/* The CPUs the process had before its core threads pinned themselves: the children it starts
 * (a node's QEMU) get them back instead of inheriting one core's CPU. */
static cpu_set_t start_cpus;
static bool start_cpus_saved;

const cpu_set_t *hosted_start_cpus(void) { return &start_cpus; }

static void *core_main(void *arg)
{
    unsigned core = (unsigned)(uintptr_t)arg;
    ebb_core_id = core;
    ltt_setup();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((first_cpu + core) % (unsigned)(ncpu > 0 ? ncpu : 1), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort: may be restricted */
    if (core != 0) {
        ebb_core_run(core);
        ltt_release(); /* core 0 is the caller's thread: its table stays for a later ebb_run */
    }
    return NULL;
}

unsigned platform_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > EBB_MAX_CORES ? EBB_MAX_CORES : (unsigned)n;
}

/* More cores than CPUs is allowed: threads share them (tests run 4 cores on 2 CPUs). */
unsigned platform_cores_max(void) { return EBB_MAX_CORES; }

int platform_cores_start(unsigned n)
{
    ncores = n;
    first_cpu = (unsigned)ebb_config_int("cpu", 0, 0, 4095);
    if (!start_cpus_saved && sched_getaffinity(0, sizeof start_cpus, &start_cpus) == 0)
        start_cpus_saved = true;
    for (unsigned c = 0; c < ncores; c++) {
        struct hcore *h = &hc[c];
        h->epfd = epoll_create1(EPOLL_CLOEXEC);
        h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        h->watches = calloc(MAX_FDS, sizeof *h->watches);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = h->wakefd };
        if (h->epfd < 0 || h->wakefd < 0 || !h->watches ||
            epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &ev) < 0) {
            fprintf(stderr, "hosted: cannot set up core %u: %s\n", c, strerror(errno));
            return -1;
        }
    }
    core_main((void *)0); /* pins the calling thread as core 0 */
    for (unsigned c = 1; c < ncores; c++) {
        int e = pthread_create(&hc[c].thread, NULL, core_main, (void *)(uintptr_t)c);
        if (e) {
            fprintf(stderr, "hosted: cannot start core %u: %s\n", c, strerror(e));
            return -1;
        }
    }
    return 0;
}

void platform_cores_join(unsigned n)
{
    for (unsigned c = 1; c < n; c++)
        pthread_join(hc[c].thread, NULL);
    for (unsigned c = 0; c < n; c++) {
        close(hc[c].epfd);
        close(hc[c].wakefd);
        free(hc[c].watches);
    }
}

void platform_halt(int code)
{
    fflush(stdout);
    _exit(code);
}
