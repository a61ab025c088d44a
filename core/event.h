/* The per-core event loop: non-preemptive, an event runs to completion (or blocks its context,
 * see context.h). Each pass of the loop: due timers, one event, then the idle handlers; with
 * nothing to do the core sleeps in the platform (epoll hosted, hlt native) until an interrupt,
 * an fd, a timer or a remote spawn wakes it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

typedef void (*ebb_fn)(void *arg);

/* Runs fn(arg) later, as an event on this core / on `core`. Events spawned from one core to
 * another run in the order they were spawned. */
void ebb_spawn(ebb_fn fn, void *arg);
void ebb_spawn_on(unsigned core, ebb_fn fn, void *arg);

/* Idle handlers run on every pass of this core's loop; return true when they did work, so the
 * core keeps polling instead of sleeping (adaptive polling). */
struct ebb_idle {
    bool (*fn)(void *arg);
    void *arg;
    struct ebb_idle *next;
};
void ebb_idle_add(struct ebb_idle *h);
void ebb_idle_remove(struct ebb_idle *h);

/* Timers: per core, fire in deadline order, never before their deadline, on the core that
 * started them. The struct is the caller's; it must stay alive until it fires or is cancelled. */
struct ebb_timer {
    uint64_t deadline_ns;
    ebb_fn fn;
    void *arg;
    uint64_t seq_;         /* equal deadlines fire in start order */
    unsigned heap_index_;  /* 0: not armed */
};
uint64_t ebb_now_ns(void);
void ebb_timer_start(struct ebb_timer *t, uint64_t delay_ns, ebb_fn fn, void *arg);
void ebb_timer_start_at(struct ebb_timer *t, uint64_t deadline_ns, ebb_fn fn, void *arg);
bool ebb_timer_cancel(struct ebb_timer *t); /* true if it was armed */
static inline bool ebb_timer_armed(const struct ebb_timer *t) { return t->heap_index_ != 0; }

/* Ends the program: every core leaves its loop and the process (or VM) exits with `code`. */
void ebb_exit(int code);

/* For platforms: run this core's loop until ebb_exit(). */
void ebb_loop_run(void);
/* Frees a stopped core's loop state (core/start.c). */
void ebb_event_core_cleanup(void);
/* True while this thread runs events of the loop (so blocking a context is possible). */
bool ebb_in_event_loop(void);

/* The application's entry point: runs once, as the first event on core 0, after every core's
 * loop is up. Configuration is in config.h. */
void app_main(void);

/* Starts the runtime from a program's own main(), on either platform: parses key=value words
 * (cores=N, ...), starts the cores' loops, runs app_main() on core 0 and returns the code given
 * to ebb_exit() (core/start.c). */
int ebb_run(int argc, char **argv);
