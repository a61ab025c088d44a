/* Shared by the attack tests (net_hostile, msg_attack): the process's resident size, to show what
 * a hostile peer could make grow, and a sleep that lets the core's other events run. */
#pragma once
#include <stdio.h>
#include <unistd.h>
#include "core/event.h"
#include "core/future.h"

static inline long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(fp);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static inline void attack_wake_(void *arg) { ebb_promise_set(*(ebb_promise_t *)arg, 0); }
/* Blocks this event (not the core) for ms milliseconds. */
static inline void sleep_ms(unsigned ms)
{
    struct ebb_timer t = {0};
    ebb_promise_t p;
    ebb_future_t fu = ebb_promise_new(&p);
    ebb_timer_start(&t, ms * 1000000ull, attack_wake_, &p);
    ebb_future_block(fu, NULL);
}
