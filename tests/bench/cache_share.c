/* Hoard's false-sharing benchmarks. Each thread repeatedly allocates a small object, writes and
 * reads every byte of it REPS/T times, and frees it; the total work is fixed, as in the originals.
 *  - thrash (active false sharing): an allocator that hands different threads objects on one
 *    cache line makes their writes fight over it.
 *  - scratch (passive false sharing): the main thread first allocates one object per thread,
 *    back to back (neighbours share cache lines), and each thread starts by freeing its own: an
 *    allocator that hands the freed neighbour back to the thread that freed it makes the threads
 *    write one cache line.
 * Usage: cache_share thrash|scratch T ITERATIONS SIZE REPS. */
#include "alloc_bench.h"
#include <string.h>

static long iterations, size, reps;
static int nthreads;
static char *first[BENCH_MAX_THREADS];

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    free(first[id]);
    long r = reps / nthreads;
    for (long i = 0; i < iterations; i++) {
        volatile char *p = bench_xmalloc((size_t)size);
        for (long j = 0; j < r; j++)
            for (long k = 0; k < size; k++) {
                p[k] = (char)k;
                char c = p[k];
                p[k] = (char)(c + 1);
            }
        free((void *)p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *u = "thrash|scratch THREADS ITERATIONS SIZE REPS";
    int scratch = argc > 1 && strcmp(argv[1], "scratch") == 0;
    if (argc < 2 || (!scratch && strcmp(argv[1], "thrash") != 0))
        bench_arg(0, argv, 1, 0, 0, u); /* prints the usage */
    nthreads = (int)bench_arg(argc, argv, 2, 1, BENCH_MAX_THREADS, u);
    iterations = bench_arg(argc, argv, 3, 1, 100000000, u);
    size = bench_arg(argc, argv, 4, 1, 1 << 20, u);
    reps = bench_arg(argc, argv, 5, 1, 1000000000, u);
    if (scratch)
        for (int t = 0; t < nthreads; t++)
            first[t] = bench_xmalloc((size_t)size);
    bench_run(nthreads, worker);
    return 0;
}
