/* The Hoard threadtest benchmark, in C: each of t threads allocates N/t 8-byte objects (the
 * original's `new Foo`, two ints written by the constructor), frees them all, and repeats for i
 * iterations. Usage: threadtest t i N. Prints the wall time in seconds. Run under LD_PRELOAD to
 * measure an allocator; built without -fbuiltin so no call is elided. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct foo { int x, y; };

static int niter, nobj, nthreads;

static void *worker(void *arg)
{
    (void)arg;
    int n = nobj / nthreads;
    struct foo **a = malloc(sizeof *a * (size_t)n);
    if (!a)
        abort();
    for (int j = 0; j < niter; j++) {
        for (int i = 0; i < n; i++) {
            a[i] = malloc(sizeof(struct foo));
            if (!a[i])
                abort();
            a[i]->x = 14;
            a[i]->y = 29;
        }
        for (int i = 0; i < n; i++)
            free(a[i]);
    }
    free(a);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (nthreads = atoi(argv[1])) < 1 || (niter = atoi(argv[2])) < 1 ||
        (nobj = atoi(argv[3])) < nthreads) {
        fprintf(stderr, "usage: threadtest THREADS ITERATIONS OBJECTS\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[256];
    if (nthreads > 256)
        nthreads = 256;
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL))
            abort();
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
