/* Shared pieces of the allocator benchmarks (tests/bench/alloc.sh runs them): argument parsing,
 * a fast deterministic random number generator and starting/joining the worker threads. Every
 * benchmark does a fixed total amount of work split over its threads, so with enough cores more
 * threads finish sooner, and the time of a run is the allocator's cost plus the benchmark's own. */
#pragma once
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BENCH_MAX_THREADS 64

static inline uint64_t bench_rand(uint64_t *s) /* xorshift64* */
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* A size for the mixed-size benchmarks: 70% in 8..128 B, 25% up to 4 KiB, 4% up to 64 KiB,
 * 1% up to 1 MiB (by bytes, the large ones dominate). */
static inline size_t bench_mixed_size(uint64_t *s)
{
    uint64_t r = bench_rand(s), pct = r % 100, x = r >> 32;
    if (pct < 70)
        return 8 + x % 121;
    if (pct < 95)
        return 129 + x % (4096 - 128);
    if (pct < 99)
        return 4097 + x % (65536 - 4096);
    return 65537 + x % ((1 << 20) - 65536);
}

/* A number in [lo, hi] from argv[i], or the usage message and exit 2. */
static inline long bench_arg(int argc, char **argv, int i, long lo, long hi, const char *usage)
{
    char *end;
    long v = i < argc ? strtol(argv[i], &end, 10) : 0;
    if (i >= argc || *end || v < lo || v > hi) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        exit(2);
    }
    return v;
}

static inline void *bench_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

/* Runs fn(i) on nthreads threads, i = 0..nthreads-1, and waits for all of them. */
static inline void bench_run(int nthreads, void *(*fn)(void *))
{
    pthread_t th[BENCH_MAX_THREADS];
    for (intptr_t i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, fn, (void *)i)) {
            fprintf(stderr, "pthread_create failed\n");
            abort();
        }
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
}
