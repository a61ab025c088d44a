/* A mixed-size and realloc stress after mimalloc's mstress and rpmalloc's rptest: each thread
 * keeps SLOTS live blocks and makes OPS/T random steps; a step picks a slot and, if it is empty,
 * allocates a block there; else it reallocates it (10%: to a new random size, content checked),
 * swaps it with a random slot of a shared transfer array (5%: so another thread frees or grows
 * it) or frees it. Sizes from bench_mixed_size(); each block is tagged in its first and last
 * bytes. Usage: mstress T OPS SLOTS. */
#include "alloc_bench.h"
#include <stdatomic.h>
#include <string.h>

#define TRANSFER 1024

static long ops, nslots;
static int nthreads;
static char *_Atomic transfer[TRANSFER];

/* A block (at least 8 bytes) starts with its size and, past that, ends with a byte derived
 * from it. */
static void tag(char *p, size_t n)
{
    memcpy(p, &n, sizeof n);
    if (n > sizeof n)
        p[n - 1] = (char)(n * 7 + 1);
}

static char *make(size_t n)
{
    char *p = bench_xmalloc(n);
    tag(p, n);
    return p;
}

static void check(const char *p)
{
    size_t n;
    memcpy(&n, p, sizeof n);
    if (n > sizeof n && p[n - 1] != (char)(n * 7 + 1)) {
        fprintf(stderr, "mstress: block %p of %zu bytes corrupted\n", (void *)p, n);
        abort();
    }
}

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    char **a = calloc((size_t)nslots, sizeof *a);
    if (!a)
        abort();
    long steps = ops / nthreads;
    for (long i = 0; i < steps; i++) {
        uint64_t r = bench_rand(&s);
        char **slot = &a[r % (uint64_t)nslots];
        unsigned what = (unsigned)(r >> 40) % 100;
        if (!*slot) {
            *slot = make(bench_mixed_size(&s));
        } else if (what < 10) {
            check(*slot);
            size_t n = bench_mixed_size(&s), old;
            memcpy(&old, *slot, sizeof old);
            char *q = realloc(*slot, n);
            if (!q)
                abort();
            if (memcmp(q, &old, sizeof old) != 0) {
                fprintf(stderr, "mstress: realloc lost the contents of %p\n", (void *)q);
                abort();
            }
            tag(q, n);
            *slot = q;
        } else if (what < 15) {
            *slot = atomic_exchange(&transfer[(r >> 20) % TRANSFER], *slot);
            if (*slot)
                check(*slot);
        } else {
            check(*slot);
            free(*slot);
            *slot = NULL;
        }
    }
    for (long k = 0; k < nslots; k++)
        free(a[k]);
    free(a);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *u = "THREADS OPS SLOTS";
    nthreads = (int)bench_arg(argc, argv, 1, 1, BENCH_MAX_THREADS, u);
    ops = bench_arg(argc, argv, 2, 1, 1000000000, u);
    nslots = bench_arg(argc, argv, 3, 1, 10000000, u);
    bench_run(nthreads, worker);
    for (int i = 0; i < TRANSFER; i++)
        free(transfer[i]);
    return 0;
}
