/* A test-and-test-and-set spinlock for short critical sections that never block. */
#pragma once
#include "core/platform.h"

static inline void spin_lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            ebb_cpu_relax();
}
/* True if it took the lock; never waits. */
static inline int spin_trylock(int *l)
{
    return !__atomic_load_n(l, __ATOMIC_RELAXED) && !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);
}
static inline void spin_unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }
