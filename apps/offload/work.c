/* The work the offload example's nodes do: trial division, deliberately plain. */
#include "apps/offload/work.gen.h"

uint64_t primes_count_local(uint64_t lo, uint64_t hi)
{
    uint64_t n = 0;
    for (uint64_t x = lo < 2 ? 2 : lo; x < hi; x++) {
        bool prime = true;
        for (uint64_t d = 2; d * d <= x && prime; d++)
            prime = x % d != 0;
        n += prime;
    }
    return n;
}

static uint64_t p_count(void *self, uint64_t lo, uint64_t hi)
{
    (void)self;
    return primes_count_local(lo, hi);
}

static const struct primes primes_ops = { p_count };

static void *create_rep(struct ebb_root *root, unsigned core)
{
    (void)root, (void)core;
    static struct { const struct primes *ops; } rep = { &primes_ops };
    return &rep;
}
PRIMES_ROOT(primes_root, create_rep);
