/* xmalloc-test (Lever & Boreham, "malloc() performance in a multithreaded Linux environment"),
 * fixed-work version: every thread allocates blocks of random size in [1, MAX], in batches of
 * BATCH, and passes each full batch to the next thread (a ring), which frees it: every free is
 * on another thread than its malloc (with one thread, the thread frees its own batches). Each
 * thread makes TOTAL/T/BATCH batches and frees as many. A thread's inbox holds at most QUEUE
 * batches; a thread whose successor's inbox is full empties its own meanwhile.
 * Usage: xmalloc T TOTAL MAX. */
#include "alloc_bench.h"
#include <sched.h>

#define BATCH 256
#define QUEUE 16

struct inbox {
    _Alignas(64) pthread_mutex_t lock;
    void **q[QUEUE];
    int head, n;
};

static struct inbox box[BENCH_MAX_THREADS];
static int nthreads;
static long total, maxsz;

static int put(struct inbox *b, void **batch)
{
    pthread_mutex_lock(&b->lock);
    int ok = b->n < QUEUE;
    if (ok)
        b->q[(b->head + b->n++) % QUEUE] = batch;
    pthread_mutex_unlock(&b->lock);
    return ok;
}

static void **take(struct inbox *b)
{
    void **batch = NULL;
    pthread_mutex_lock(&b->lock);
    if (b->n) {
        batch = b->q[b->head];
        b->head = (b->head + 1) % QUEUE;
        b->n--;
    }
    pthread_mutex_unlock(&b->lock);
    return batch;
}

static void release(void **batch)
{
    for (int i = 0; i < BATCH; i++)
        free(batch[i]);
    free(batch);
}

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    struct inbox *mine = &box[id], *next = &box[(id + 1) % nthreads];
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    long nbatch = total / nthreads / BATCH, made = 0, freed = 0;
    while (made < nbatch || freed < nbatch) {
        if (made < nbatch) {
            void **batch = bench_xmalloc(sizeof(void *) * BATCH);
            for (int i = 0; i < BATCH; i++) {
                size_t n = 1 + bench_rand(&s) % (uint64_t)maxsz;
                char *p = bench_xmalloc(n);
                p[0] = p[n - 1] = 1;
                batch[i] = p;
            }
            made++;
            while (!put(next, batch)) { /* the successor is behind: help by freeing ours */
                void **b = take(mine);
                if (b) {
                    release(b);
                    freed++;
                } else {
                    sched_yield();
                }
            }
        }
        void **b = take(mine);
        if (b) {
            release(b);
            freed++;
        } else if (made == nbatch) {
            sched_yield();
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *u = "THREADS TOTAL MAX";
    nthreads = (int)bench_arg(argc, argv, 1, 1, BENCH_MAX_THREADS, u);
    total = bench_arg(argc, argv, 2, 1, 1000000000, u);
    maxsz = bench_arg(argc, argv, 3, 1, 1 << 24, u);
    for (int i = 0; i < nthreads; i++)
        pthread_mutex_init(&box[i].lock, NULL);
    bench_run(nthreads, worker);
    return 0;
}
