/* The event loop: spawn order, remote spawn, timers, idle handlers, fd events, exit codes. */
#include "core/ebb.h"
#include "core/event.h"
#include "tap.h"
#ifdef EBB_HOSTED
#include "ebb_hosted.h"
#include <sys/epoll.h>
#include <unistd.h>
#endif

#define NREMOTE 10000

static int step;
static void next_step(void *arg);

/* 1: local spawns run in order, on this core. */
static int local_seq[5], nlocal;
static void local_ev(void *arg) { local_seq[nlocal++] = (int)(uintptr_t)arg; }

/* 2: remote spawns arrive on the right core, in order. */
static int remote_next, remote_bad_core, remote_bad_order;
static void remote_ev(void *arg)
{
    int i = (int)(uintptr_t)arg;
    if (ebb_core() != 1)
        remote_bad_core++;
    if (i != remote_next)
        remote_bad_order++;
    remote_next = i + 1;
    if (i == NREMOTE - 1)
        ebb_spawn_on(0, next_step, NULL);
}

/* 3: timers in deadline order, never early. */
struct tcase {
    struct ebb_timer t;
    uint64_t deadline;
    int id;
};
static struct tcase tc[6];
static int fired[6], nfired, early;
static void timer_ev(void *arg)
{
    struct tcase *c = arg;
    if (ebb_now_ns() < c->deadline)
        early++;
    fired[nfired++] = c->id;
    if (nfired == 5)
        ebb_spawn(next_step, NULL);
}

/* 4: idle handlers run until removed. */
static int idle_runs;
static struct ebb_idle idle;
static bool idle_fn(void *arg)
{
    (void)arg;
    if (++idle_runs == 100) {
        ebb_idle_remove(&idle);
        ebb_spawn(next_step, NULL);
    }
    return true;
}

#ifdef EBB_HOSTED
/* 5: an fd becomes readable: the handler runs on the core that watches it (hosted only). */
static int pfd[2];
static unsigned fd_core = 99;
static void fd_ev(void *arg, uint32_t events)
{
    (void)arg;
    char c;
    if ((events & EPOLLIN) && read(pfd[0], &c, 1) == 1 && c == 'x') {
        fd_core = ebb_core();
        ebb_fd_unwatch(pfd[0]);
        ebb_spawn(next_step, NULL);
    }
}
static void writer(void *arg)
{
    (void)arg;
    if (write(pfd[1], "x", 1) != 1)
        ok(0, "write");
}
#endif

/* 6: a timer armed on core 1 fires on core 1. */
static struct ebb_timer t1;
static void t1_ev(void *arg)
{
    (void)arg;
    is(ebb_core(), 1, "a timer fires on the core that armed it");
    ebb_spawn_on(0, next_step, NULL);
}
static void arm_t1(void *arg)
{
    (void)arg;
    ebb_timer_start(&t1, 5000000, t1_ev, NULL);
}

static void next_step(void *arg)
{
    (void)arg;
    switch (step++) {
    case 0:
        for (int i = 0; i < 5; i++)
            ebb_spawn(local_ev, (void *)(uintptr_t)i);
        ok(nlocal == 0, "spawn does not run the event inline");
        ebb_spawn(next_step, NULL);
        break;
    case 1:
        ok(nlocal == 5 && local_seq[0] == 0 && local_seq[4] == 4, "local events run in spawn order");
        for (int i = 0; i < NREMOTE; i++)
            ebb_spawn_on(1, remote_ev, (void *)(uintptr_t)i);
        break;
    case 2: {
        ok(remote_next == NREMOTE && remote_bad_core == 0, "%d remote spawns all ran on core 1", NREMOTE);
        is(remote_bad_order, 0, "remote spawns ran in the order they were spawned");
        uint64_t now = ebb_now_ns();
        /* ids 0..4 with delays (ms): 30, 10, 20, 10 (after id 1), 5; id 5 is cancelled. */
        static const int delay_ms[6] = { 30, 10, 20, 10, 5, 15 };
        for (int i = 0; i < 6; i++) {
            tc[i].id = i;
            tc[i].deadline = now + (uint64_t)delay_ms[i] * 1000000;
            ebb_timer_start_at(&tc[i].t, tc[i].deadline, timer_ev, &tc[i]);
        }
        ok(ebb_timer_cancel(&tc[5].t) && !ebb_timer_armed(&tc[5].t), "a timer can be cancelled");
        break;
    }
    case 3:
        ok(fired[0] == 4 && fired[1] == 1 && fired[2] == 3 && fired[3] == 2 && fired[4] == 0,
           "timers fire in deadline order, ties in start order (%d %d %d %d %d)", fired[0], fired[1],
           fired[2], fired[3], fired[4]);
        is(early, 0, "no timer fires before its deadline");
        ebb_spawn(next_step, NULL); /* let a cancelled timer's deadline pass unnoticed */
        break;
    case 4: {
        static struct ebb_timer wait;
        ebb_timer_start(&wait, 20000000, next_step, NULL);
        break;
    }
    case 5:
        is(nfired, 5, "the cancelled timer never fired");
        idle.fn = idle_fn;
        ebb_idle_add(&idle);
        break;
    case 6:
        is(idle_runs, 100, "an idle handler runs on each pass until it removes itself");
#ifdef EBB_HOSTED
        if (pipe(pfd) < 0)
            ok(0, "pipe");
        is(ebb_fd_watch(pfd[0], EPOLLIN, fd_ev, NULL), 0, "watch a pipe");
        ebb_spawn_on(1, writer, NULL);
        break;
    case 7:
        is(fd_core, 0, "the fd handler ran on the watching core when data arrived");
        close(pfd[0]);
        close(pfd[1]);
#else
        step++; /* no file descriptors natively */
#endif
        ebb_spawn_on(1, arm_t1, NULL);
        break;
    default:
        ebb_exit(40 + (atomic_load(&tap_failed) ? 1 : 0));
    }
}

void app_main(void) { ebb_spawn(next_step, NULL); }

int main(int argc, char **argv)
{
    (void)argc;
#ifdef EBB_HOSTED
    tap_plan(13);
    tap_deadline(120);
#else
    tap_plan(11);
#endif
    char *args[] = { argv[0], "cores=2", NULL };
    int rc = ebb_run(2, args);
    /* The test ends with ebb_exit(40 + failures): check the code makes it out of the runtime. */
    is(rc, 40, "ebb_exit's code is returned by the runtime");
    return tap_done();
}
