/* The vmem allocator (see vmem.h). */
#include "mem/vmem.h"
#include "mem/page.h"
#include "core/platform.h"
#include <string.h>

#define MAX_EXTENTS 1024
#define MAX_LARGE   256

static int lock;
static int ready;
/* Free extents of the window, sorted by address. */
static struct { uintptr_t start; size_t len; } ext[MAX_EXTENTS];
static unsigned next_;
static struct vmem_region *regions;
static struct vmem_region large[MAX_LARGE];

static int init_locked(void)
{
    if (ready)
        return ready > 0 ? 0 : -1;
    uintptr_t s;
    size_t l;
    if (mem_platform_vwindow(&s, &l) < 0) {
        ready = -1;
        return -1;
    }
    ext[0].start = s;
    ext[0].len = l;
    next_ = 1;
    ready = 1;
    return 0;
}

static void ext_insert(uintptr_t s, size_t l)
{
    unsigned i = 0;
    while (i < next_ && ext[i].start < s)
        i++;
    if (i > 0 && ext[i - 1].start + ext[i - 1].len == s) {
        ext[i - 1].len += l;
        if (i < next_ && s + l == ext[i].start) {
            ext[i - 1].len += ext[i].len;
            memmove(&ext[i], &ext[i + 1], (next_ - i - 1) * sizeof ext[0]);
            next_--;
        }
        return;
    }
    if (i < next_ && s + l == ext[i].start) {
        ext[i].start = s;
        ext[i].len += l;
        return;
    }
    if (next_ == MAX_EXTENTS)
        mem_fatal("vmem: too many free extents"); /* the window leaks rather than corrupts */
    memmove(&ext[i + 1], &ext[i], (next_ - i) * sizeof ext[0]);
    ext[i].start = s;
    ext[i].len = l;
    next_++;
}

int vmem_reserve(struct vmem_region *r, size_t len, size_t align, vmem_fault_fn fault, void *arg)
{
    if (len == 0 || len > ((size_t)1 << 46))
        return -1;
    len = (len + MEM_PAGE_SIZE - 1) & ~(MEM_PAGE_SIZE - 1);
    if (align < MEM_PAGE_SIZE)
        align = MEM_PAGE_SIZE;
    if (align & (align - 1))
        return -1;
    spin_lock(&lock);
    if (init_locked() < 0) {
        spin_unlock(&lock);
        return -1;
    }
    for (unsigned i = 0; i < next_; i++) {
        uintptr_t s = (ext[i].start + align - 1) & ~(align - 1);
        uintptr_t e = ext[i].start + ext[i].len;
        if (s < ext[i].start || s > e || e - s < len)
            continue;
        uintptr_t es = ext[i].start;
        size_t el = ext[i].len;
        memmove(&ext[i], &ext[i + 1], (next_ - i - 1) * sizeof ext[0]);
        next_--;
        if (s > es)
            ext_insert(es, s - es);
        if (s + len < es + el)
            ext_insert(s + len, es + el - (s + len));
        memset(r, 0, sizeof *r);
        r->start = s;
        r->len = len;
        r->fault = fault;
        r->arg = arg;
        r->next_ = regions;
        __atomic_store_n(&regions, r, __ATOMIC_RELEASE);
        spin_unlock(&lock);
        if (fault)
            mem_platform_fault_hook();
        return 0;
    }
    spin_unlock(&lock);
    return -1;
}

void vmem_release(struct vmem_region *r)
{
    spin_lock(&lock);
    struct vmem_region **pp = &regions;
    while (*pp && *pp != r)
        pp = &(*pp)->next_;
    if (!*pp)
        mem_fatal("vmem: release of a region that is not reserved (%p)", (void *)r);
    *pp = r->next_;
    mem_platform_unmap(r->start, r->len);
    ext_insert(r->start, r->len);
    r->mapped = 0;
    spin_unlock(&lock);
}

struct vmem_region *vmem_region_of(uintptr_t addr)
{
    for (struct vmem_region *r = __atomic_load_n(&regions, __ATOMIC_ACQUIRE); r; r = r->next_)
        if (addr - r->start < r->len)
            return r;
    return NULL;
}

int vmem_map(struct vmem_region *r, uintptr_t addr, size_t len)
{
    if (addr < r->start || len > r->len || addr - r->start > r->len - len)
        return -1;
    if (mem_platform_map(addr, len) < 0)
        return -1;
    __atomic_fetch_add(&r->mapped, len, __ATOMIC_RELAXED);
    return 0;
}

int vmem_fault_zero(struct vmem_region *r, uintptr_t addr)
{
    return vmem_map(r, addr & ~(MEM_PAGE_SIZE - 1), MEM_PAGE_SIZE);
}

int vmem_fault(uintptr_t addr)
{
    struct vmem_region *r = vmem_region_of(addr);
    if (!r || !r->fault)
        return -1;
    return r->fault(r, addr);
}

void *vmem_alloc_large(size_t len, size_t align)
{
    struct vmem_region *slot = NULL;
    spin_lock(&lock);
    for (unsigned i = 0; i < MAX_LARGE && !slot; i++)
        if (!large[i].len && !large[i].arg) {
            slot = &large[i];
            slot->arg = slot; /* claimed */
        }
    spin_unlock(&lock);
    if (!slot)
        return NULL;
    if (vmem_reserve(slot, len, align, NULL, slot) < 0) {
        slot->arg = NULL;
        return NULL;
    }
    if (vmem_map(slot, slot->start, slot->len) < 0) {
        vmem_release(slot);
        memset(slot, 0, sizeof *slot);
        return NULL;
    }
    return (void *)slot->start;
}

static struct vmem_region *large_of(const void *p)
{
    for (unsigned i = 0; i < MAX_LARGE; i++)
        if (large[i].len && large[i].start == (uintptr_t)p)
            return &large[i];
    return NULL;
}

int vmem_free_large(void *p)
{
    struct vmem_region *r = large_of(p);
    if (!r)
        return -1;
    vmem_release(r);
    spin_lock(&lock);
    memset(r, 0, sizeof *r);
    spin_unlock(&lock);
    return 0;
}

size_t vmem_large_size(const void *p)
{
    struct vmem_region *r = large_of(p);
    return r ? r->len : 0;
}

void vmem_fork_lock(void) { spin_lock(&lock); }
void vmem_fork_unlock(void) { spin_unlock(&lock); }
