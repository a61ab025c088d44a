/* Hosted "physical memory" for the page allocator and the vmem window: anonymous mappings.
 *
 * The arena is reserved with MAP_NORESERVE, so only pages the allocators touch cost memory.
 * Its size: EBB_ARENA_MB in the environment, else 32 GiB, halved until the kernel agrees. */
#define _GNU_SOURCE
#include "mem/page.h"
#include "mem/vmem.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GiB ((size_t)1 << 30)

static void *map_aligned(size_t len, size_t align, int prot)
{
    size_t span = len + align;
    char *p = mmap(NULL, span, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + len < p + span)
        munmap(a + len, (size_t)(p + span - (a + len)));
    return a;
}

static size_t arena_bytes(void)
{
    const char *e = getenv("EBB_ARENA_MB");
    if (e) {
        char *end;
        unsigned long mb = strtoul(e, &end, 10);
        if (*end == 0 && mb >= 16 && mb <= ((size_t)1 << 26))
            return (size_t)mb << 20;
        static const char msg[] = "mem: EBB_ARENA_MB must be a number of MiB, 16 or more\n";
        if (write(2, msg, sizeof msg - 1) < 0)
            abort();
    }
    return 32 * GiB;
}

int mem_platform_grow(unsigned node, size_t bytes)
{
    static int first = 1;
    if (node != 0) /* hosted is one NUMA node; other nodes hold only what was added to them */
        return -1;
    size_t len = arena_bytes();
    if (!first && len < 4 * bytes)
        len = 4 * bytes;
    first = 0;
    size_t align = MEM_PAGE_SIZE << MEM_MAX_ORDER;
    for (; len >= bytes && len >= (16u << 20); len /= 2) {
        void *p = map_aligned(len, len < align ? len : align, PROT_READ | PROT_WRITE);
        if (!p)
            continue;
        if (mem_add_range(node, (uintptr_t)p, (uintptr_t)p + len) == 0)
            return 0;
        munmap(p, len);
        return -1;
    }
    return -1;
}

void mem_platform_release(void *p, size_t len)
{
    madvise(p, len, MADV_DONTNEED);
}

/* ---- the vmem window ---- */

int mem_platform_vwindow(uintptr_t *start, size_t *len)
{
    for (size_t l = 64 * GiB; l >= GiB; l /= 2) {
        void *p = map_aligned(l, GiB, PROT_NONE);
        if (p) {
            *start = (uintptr_t)p;
            *len = l;
            return 0;
        }
    }
    return -1;
}

int mem_platform_map(uintptr_t va, size_t len)
{
    return mprotect((void *)va, len, PROT_READ | PROT_WRITE) == 0 ? 0 : -1;
}

void mem_platform_unmap(uintptr_t va, size_t len)
{
    madvise((void *)va, len, MADV_DONTNEED); /* the next map sees zeroes */
    mprotect((void *)va, len, PROT_NONE);
}

static struct sigaction old_segv;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (vmem_fault((uintptr_t)si->si_addr) == 0)
        return;
    /* Not ours: put the previous handler back; the access faults again and reaches it. */
    sigaction(sig, &old_segv, NULL);
}

void mem_platform_fault_hook(void)
{
    static int installed;
    if (__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
}
