/* Remote spawn natively (make bench-native-spawn): a ping-pong of events between core 0 and
 * core 1 (each hop an ebb_spawn_on: a queue push and, when the other core sleeps, a wake-up IPI),
 * against a baseline measured in the same VM: the same ping-pong over a shared variable that
 * both cores spin on (the cost of moving a cache line between two vCPUs). Under TCG. */
#include <stdint.h>
#include <stdio.h>
#include "core/ebb.h"
#include "core/event.h"

#define N 2000

static volatile uint64_t flag;
static uint64_t t0;
static int hops;
static void pong(void *arg);

static void spin_side(void *arg)
{
    (void)arg; /* core 1: answers every odd value with the next even one */
    for (uint64_t v = 1; v < 2 * N; v += 2) {
        while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) != v)
            ebb_cpu_relax();
        __atomic_store_n(&flag, v + 1, __ATOMIC_RELEASE);
    }
}

static void ping(void *arg)
{
    (void)arg;
    if (++hops == 2 * N) {
        double spawn_ns = (double)(ebb_now_ns() - t0) / (2 * N);
        ebb_spawn_on(1, spin_side, NULL);
        uint64_t s0 = ebb_now_ns();
        for (uint64_t v = 0; v < 2 * N; v += 2) {
            __atomic_store_n(&flag, v + 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) != v + 2)
                ebb_cpu_relax();
        }
        double spin_ns = (double)(ebb_now_ns() - s0) / (2 * N);
        printf("native remote spawn, one way (core 0 <-> core 1 ping-pong, %d round trips): %.0f ns; "
               "baseline spin on a shared variable: %.0f ns; ratio %.1f\n", N, spawn_ns, spin_ns,
               spawn_ns / spin_ns);
        ebb_exit(0);
        return;
    }
    ebb_spawn_on(1, pong, NULL);
}

static void pong(void *arg)
{
    (void)arg;
    ++hops;
    ebb_spawn_on(0, ping, NULL);
}

void app_main(void)
{
    t0 = ebb_now_ns();
    hops = -1;
    ping(NULL);
}
