/* Larson & Krishnan's server benchmark (ISMM'98), fixed-work version: each of T "server" threads
 * owns CHUNKS slots holding blocks of random size in [MIN, MAX]; a step frees a random slot's
 * block and puts a new one of random size there. The blocks are first allocated by the main
 * thread, and every ROUNDS/GENERATIONS rounds a thread hands its slots to a fresh thread and
 * exits, so most frees happen on another thread than the allocation (as in the original, where
 * each thread's successor inherits its blocks). Usage: larson T ROUNDS CHUNKS MIN MAX. */
#include "alloc_bench.h"
#include <string.h>

#define GENERATIONS 10

static long rounds, chunks, minsz, maxsz;
static int nthreads;
static char **slots[BENCH_MAX_THREADS];
static uint64_t seeds[BENCH_MAX_THREADS];

static size_t rsize(uint64_t *s)
{
    return (size_t)(minsz + (long)(bench_rand(s) % (uint64_t)(maxsz - minsz + 1)));
}

static void *server(void *arg)
{
    intptr_t id = (intptr_t)arg;
    char **a = slots[id];
    uint64_t *s = &seeds[id];
    long steps = rounds / GENERATIONS * chunks / nthreads;
    for (long i = 0; i < steps; i++) {
        size_t k = bench_rand(s) % (uint64_t)chunks;
        free(a[k]);
        size_t n = rsize(s);
        a[k] = bench_xmalloc(n);
        a[k][0] = (char)k;      /* touch both ends, as a server filling a buffer would */
        a[k][n - 1] = (char)n;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *u = "THREADS ROUNDS CHUNKS MIN MAX";
    nthreads = (int)bench_arg(argc, argv, 1, 1, BENCH_MAX_THREADS, u);
    rounds = bench_arg(argc, argv, 2, GENERATIONS, 1000000, u);
    chunks = bench_arg(argc, argv, 3, 1, 10000000, u);
    minsz = bench_arg(argc, argv, 4, 1, 1 << 24, u);
    maxsz = bench_arg(argc, argv, 5, minsz, 1 << 24, u);
    for (int t = 0; t < nthreads; t++) {
        seeds[t] = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
        slots[t] = bench_xmalloc(sizeof(char *) * (size_t)chunks);
        for (long k = 0; k < chunks; k++) {
            size_t n = rsize(&seeds[t]);
            slots[t][k] = bench_xmalloc(n);
            memset(slots[t][k], 0, n < 64 ? n : 64);
        }
    }
    for (int g = 0; g < GENERATIONS; g++)
        bench_run(nthreads, server);
    for (int t = 0; t < nthreads; t++) {
        for (long k = 0; k < chunks; k++)
            free(slots[t][k]);
        free(slots[t]);
    }
    return 0;
}
