/* The offload example's work: counting primes in a range, served by each native node. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"

#define EBB_ID_PRIMES EBB_ID(0, 68)

struct EBB_INTERFACE(per_node) primes {
    /* How many primes p with lo <= p < hi. */
    uint64_t (*count)(void *self, uint64_t lo, uint64_t hi) EBB_REMOTE;
};

/* The same count, on the calling core (the front end checks the nodes' sum with it). */
uint64_t primes_count_local(uint64_t lo, uint64_t hi);
