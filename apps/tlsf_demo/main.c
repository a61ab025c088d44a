/* tlsf_demo: the image's manifest binds EBB_ID_MALLOC to TLSF (reps/tlsf.c). It calls the plain
 * malloc family on two cores and checks, from TLSF's own counters and pool bounds, that TLSF
 * served every call: not the default allocator. Prints one line and exits 0 when all holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ebb.h"
#include "core/event.h"
#include "mem/gp.h"
#include "reps/tlsf.h"

#define N 1000

static void *ptrs[2 * N];
static struct tlsf_stats before;
static int calls, owned, bad;

static void use(void *p)
{
    calls++;
    owned += p && tlsf_owns(p) && !gp_owns(p);
}

static void finish(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2 * N; i++)
        free(ptrs[i]);
    struct tlsf_stats after;
    tlsf_get_stats(&after);
    char err[128] = "";
    int heap_ok = tlsf_check(err, sizeof err) == 0;
    uint64_t served = after.mallocs - before.mallocs;
    printf("tlsf_demo: %d of %d malloc-family calls on %u cores served by TLSF "
           "(its counter: +%llu), %s, %zu bytes still in use (%zu before)\n", owned, calls,
           ebb_ncores() > 1 ? 2u : 1u, (unsigned long long)served, heap_ok ? "heap consistent" : err,
           after.bytes_in_use, before.bytes_in_use);
    int good = owned == calls && served >= (uint64_t)calls && heap_ok && !bad &&
               after.bytes_in_use <= before.bytes_in_use + 4096; /* stdio may keep a buffer */
    ebb_exit(good ? 0 : 1);
}

static void on_core1(void *arg)
{
    (void)arg;
    /* Frees of core 0's blocks, and allocations of our own. */
    for (int i = 0; i < N; i += 2) {
        free(ptrs[i]);
        ptrs[i] = malloc((size_t)(i % 300) + 1);
        use(ptrs[i]);
    }
    ebb_spawn_on(0, finish, NULL);
}

void app_main(void)
{
    tlsf_get_stats(&before);
    for (int i = 0; i < N; i++) {
        ptrs[i] = malloc((size_t)(i * 37) % 5000 + 1);
        use(ptrs[i]);
    }
    for (int i = N; i < 2 * N; i++) {
        switch (i % 4) {
        case 0: ptrs[i] = calloc(10, (size_t)i); use(ptrs[i]); bad += ((char *)ptrs[i])[i] != 0; break;
        case 1: if (posix_memalign(&ptrs[i], 4096, 100)) ptrs[i] = NULL;
                use(ptrs[i]); bad += ((uintptr_t)ptrs[i] & 4095) != 0; break;
        case 2: ptrs[i] = aligned_alloc(64, 640); use(ptrs[i]); bad += ((uintptr_t)ptrs[i] & 63) != 0; break;
        default:
            ptrs[i] = malloc(10);
            memcpy(ptrs[i], "abcdefghi", 10);
            ptrs[i] = realloc(ptrs[i], 100000);
            use(ptrs[i]);
            bad += strcmp(ptrs[i], "abcdefghi") != 0;
        }
    }
    if (ebb_ncores() > 1)
        ebb_spawn_on(1, on_core1, NULL);
    else
        ebb_spawn(finish, NULL);
}
