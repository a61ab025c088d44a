/* A plain Linux program (no EbbRT runtime) for tests/mem_preload.t: exercises the malloc family
 * across threads and prints what it saw, so the script can tell which allocator served it. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 20000
static void *handoff[N];
static int bad;

static long rss_pages(void)
{
    long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss;
}

/* A thread that fills memory with small and medium objects, frees them all, and then stays
 * alive but idle until told to end: what it cached must go back on its own. */
#define TRIM_SMALL 1000000 /* 64-byte objects */
#define TRIM_MEDIUM 60000  /* 1000-byte objects */
static pthread_mutex_t trim_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t trim_cond = PTHREAD_COND_INITIALIZER;
static int trim_state; /* 1: allocated, 2: may free, 3: freed, 4: may end */

static void trim_step(int to, int wait_for)
{
    pthread_mutex_lock(&trim_lock);
    if (to)
        trim_state = to;
    pthread_cond_broadcast(&trim_cond);
    while (wait_for && trim_state != wait_for)
        pthread_cond_wait(&trim_cond, &trim_lock);
    pthread_mutex_unlock(&trim_lock);
}

static void *trim_worker(void *arg)
{
    (void)arg;
    static void *small[TRIM_SMALL], *medium[TRIM_MEDIUM];
    for (int i = 0; i < TRIM_SMALL; i++)
        memset(small[i] = malloc(64), 1, 64);
    for (int i = 0; i < TRIM_MEDIUM; i++)
        memset(medium[i] = malloc(1000), 1, 1000);
    trim_step(1, 2);
    for (int i = 0; i < TRIM_SMALL; i++)
        free(small[i]);
    for (int i = 0; i < TRIM_MEDIUM; i++)
        free(medium[i]);
    trim_step(3, 4);
    return NULL;
}

/* 1 if most of the RSS the worker's objects added (about 120 MiB) leaves within 10 s of their
 * frees, the worker alive and idle. */
static int idle_trim(long *grew, long *fell, long *ms)
{
    long r0 = rss_pages();
    pthread_t t;
    pthread_create(&t, NULL, trim_worker, NULL);
    trim_step(0, 1);
    long peak = rss_pages();
    trim_step(2, 3);
    int ok = 0;
    for (*ms = 0; *ms < 10000 && !ok; *ms += 20) {
        usleep(20000);
        ok = peak - rss_pages() > (peak - r0) * 2 / 3;
    }
    *grew = (peak - r0) / 256;
    *fell = (peak - rss_pages()) / 256;
    trim_step(4, 0);
    pthread_join(t, NULL);
    return ok && *grew > 100;
}

static volatile int stop;
static void *churn(void *arg)
{
    (void)arg;
    while (!stop) {
        void *p = malloc(100000);  /* large: takes the page allocator's locks */
        free(p);
        free(malloc(24));
    }
    return NULL;
}

/* A thread whose first call is a malloc of `arg` bytes (its rep is made on that call). */
static void *first_call(void *arg)
{
    size_t n = (size_t)arg;
    unsigned char *p = malloc(n);
    if (!p)
        return (void *)1;
    memset(p, 1, n);
    free(p);
    return NULL;
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        handoff[i] = malloc((size_t)(i % 500) + 1);
        memset(handoff[i], 0x5a, (size_t)(i % 500) + 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    void *p1 = malloc(1);
    size_t u1 = malloc_usable_size(p1);
    free(p1);

    char *c = calloc(1000, 3);
    for (int i = 0; i < 3000; i++)
        bad += c[i] != 0;
    char *r = malloc(10);
    memcpy(r, "0123456789", 10);
    for (size_t n = 20; n < (8u << 20); n *= 3) {
        r = realloc(r, n);
        bad += memcmp(r, "0123456789", 10) != 0;
    }
    r = realloc(r, 5);
    bad += memcmp(r, "01234", 5) != 0;
    free(r);
    free(c);

    for (size_t a = 8; a <= (1u << 20); a <<= 1) {
        void *p;
        bad += posix_memalign(&p, a, 100) != 0 || ((uintptr_t)p & (a - 1));
        free(p);
        p = aligned_alloc(a, a * 3);
        bad += !p || ((uintptr_t)p & (a - 1));
        free(p);
        p = memalign(a, 7);
        bad += !p || ((uintptr_t)p & (a - 1));
        free(p);
    }
    void *v = valloc(100);
    bad += ((uintptr_t)v & 4095) != 0;
    free(v);
    void *e;
    bad += posix_memalign(&e, 24, 10) == 0; /* not a power of two: EINVAL */
    volatile size_t huge = SIZE_MAX / 2;     /* hidden from the compiler's size checks */
    bad += calloc(huge, 4) != NULL;          /* overflow */

    /* Impossible requests fail cleanly, leaving the old block alone. */
    errno = 0;
    bad += malloc(huge * 2) != NULL || errno != ENOMEM;
    void *keep = malloc(100);
    memset(keep, 7, 100);
    bad += realloc(keep, huge * 2) != NULL || ((unsigned char *)keep)[99] != 7;
    free(keep);
    void *al;
    bad += posix_memalign(&al, (size_t)1 << 50, 10) != ENOMEM;
    bad += malloc(0) == NULL;  /* a unique pointer, as glibc */

    /* Allocated on one thread, freed on this one. */
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    pthread_join(t, NULL);
    for (int i = 0; i < N; i++) {
        unsigned char *q = handoff[i];
        bad += q[0] != 0x5a || q[i % 500] != 0x5a;
        free(q);
    }
    /* A new thread's first call may be of any size. */
    static const size_t firsts[] = { 1, 8, 100, 520, 800, 1024, 4000, 100000 };
    for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
        void *ret = (void *)1;
        pthread_create(&t, NULL, first_call, (void *)firsts[i]);
        pthread_join(t, &ret);
        bad += ret != NULL;
    }
    /* fork while another thread allocates: the child must find no lock held. */
    pthread_t ch;
    pthread_create(&ch, NULL, churn, NULL);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int k = 0; k < 1000; k++)
                free(malloc((size_t)k * 97 + 1));
            _exit(0);
        }
        int st;
        bad += pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    stop = 1;
    pthread_join(ch, NULL);
    /* Large frees give their memory back: RSS grows by ~64 MiB and falls again. */
    long r0 = rss_pages();
    char *big = malloc(64u << 20);
    memset(big, 1, 64u << 20);
    long r1 = rss_pages();
    free(big);
    long r2 = rss_pages();
    int released = r1 - r0 > 15000 && r1 - r2 > 15000;
    long grew = 0, fell = 0, ms = 0;
    int trimmed = argc > 1 && strcmp(argv[1], "trim") == 0 && idle_trim(&grew, &fell, &ms);
    printf("usable1=%zu bad=%d released=%d trimmed=%d (an idle thread's frees: RSS grew %ld MiB, "
           "fell %ld MiB in %ld ms)\n", u1, bad, released, trimmed, grew, fell, ms);
    return bad != 0;
}
