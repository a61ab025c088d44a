/* A phase change: T threads together allocate MB MiB of mixed sizes (bench_mixed_size), then
 * free 90% of the blocks, chosen at random; the program then sleeps IDLE_MS (an idle program,
 * so an allocator may trim on a timer) and reports what it still holds:
 *   phase live_kb=L rss_kb=R ratio=R/L rss_busy_kb=B
 * B is the RSS right after the frees, R after the idle time; the threads stay alive (idle)
 * until then. Usage: phase T MB IDLE_MS. */
#include "alloc_bench.h"
#include <string.h>
#include <time.h>
#include <unistd.h>

static long target, idle_ms;
static int nthreads;
static size_t live[BENCH_MAX_THREADS];
static pthread_barrier_t done, measured;

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        abort();
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    size_t want = (size_t)target / (size_t)nthreads, have = 0, n = 0, cap = 1 << 16;
    char **a = bench_xmalloc(cap * sizeof *a);
    size_t *sz = bench_xmalloc(cap * sizeof *sz);
    while (have < want) {
        if (n == cap) {
            cap *= 2;
            a = realloc(a, cap * sizeof *a);
            sz = realloc(sz, cap * sizeof *sz);
            if (!a || !sz)
                abort();
        }
        sz[n] = bench_mixed_size(&s);
        a[n] = bench_xmalloc(sz[n]);
        memset(a[n], 1, sz[n]); /* the program uses what it asked for */
        have += sz[n++];
    }
    for (size_t i = 0; i < n; i++) {
        if (bench_rand(&s) % 10) {
            free(a[i]);
            have -= sz[i];
        }
    }
    live[id] = have;
    /* The survivors stay allocated and the thread stays alive, idle, until main has measured
     * (a thread's end would hand its caches back anyway). */
    pthread_barrier_wait(&done);
    pthread_barrier_wait(&measured);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *u = "THREADS MB IDLE_MS";
    nthreads = (int)bench_arg(argc, argv, 1, 1, BENCH_MAX_THREADS, u);
    target = bench_arg(argc, argv, 2, 1, 1 << 16, u) << 20;
    idle_ms = bench_arg(argc, argv, 3, 0, 60000, u);
    pthread_barrier_init(&done, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&measured, NULL, (unsigned)nthreads + 1);
    pthread_t th[BENCH_MAX_THREADS];
    for (intptr_t i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)i))
            abort();
    pthread_barrier_wait(&done);
    long busy = rss_kb();
    struct timespec ts = { idle_ms / 1000, idle_ms % 1000 * 1000000 };
    nanosleep(&ts, NULL);
    long rss = rss_kb();
    size_t l = 0;
    for (int i = 0; i < nthreads; i++)
        l += live[i];
    long lkb = (long)(l >> 10);
    printf("phase live_kb=%ld rss_kb=%ld ratio=%.2f rss_busy_kb=%ld\n", lkb, rss,
           (double)rss / (double)lkb, busy);
    pthread_barrier_wait(&measured);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    return 0;
}
