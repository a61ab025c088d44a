/* The vmem window of mem/ (mem/vmem.h) on native: 512 GiB of kernel address space mapped with
 * 4 KiB pages, shared by all cores. A mapping is demand-zero: mem_platform_map() only marks the
 * page-table entries, the first touch of a page takes a fresh zeroed page (so a 1 GiB
 * allocation costs what it uses, as an mmap does hosted). Unmapping is a shootdown without
 * interrupts in events: each core compares a global generation between events (vm_tlb_sync) and
 * is woken so it does so soon; the unmapping core waits (bounded) for all of them, and the pages
 * are freed only once every core has flushed. Stacks are vmem regions with a guard page below. */
#include <stdlib.h>
#include <string.h>
#include "core/ebb.h"
#include "core/platform.h"
#include "core/spinlock.h"
#include "native.h"

#if __has_include("mem/vmem.h")
#include "mem/page.h"
#include "mem/vmem.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_DEMAND 0x200ull   /* software bit: not present yet, zero-fill on first touch */
#define PTE_ADDR 0x000ffffffffff000ull

static int vm_lock;
static uint64_t tlb_gen = 1;

/* Pages unmapped but maybe still in another core's TLB, in page-sized batches (allocated, never
 * waited for: a core that must ack may itself be spinning on a lock the unmapper holds). */
struct batch {
    struct batch *next;
    uint64_t gen;
    uint64_t n;
    uint64_t pa[(PAGE_SIZE - 24) / 8];
};
static struct batch *deferred;

static uint64_t *zeroed_page(void)
{
    void *p = mem_pages_alloc(0, 0);
    if (!p)
        return NULL;
    memset(p, 0, PAGE_SIZE);
    return p;
}

/* The PTE of va in the window, creating tables when `create`; NULL if absent or out of memory. */
static uint64_t *pte_of(uint64_t va, bool create)
{
    uint64_t *t = phys_ptr(mm_master_pml4()[VM_WINDOW_PML4] & PTE_ADDR);
    for (int shift = 30; shift >= 21; shift -= 9) {
        uint64_t *e = &t[(va >> shift) & 511];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            uint64_t *n = zeroed_page();
            if (!n)
                return NULL;
            *e = (uint64_t)(uintptr_t)n | PTE_P | PTE_W;
        }
        t = phys_ptr(*e & PTE_ADDR);
    }
    return &t[(va >> 12) & 511];
}

static bool in_window(uint64_t va, size_t len)
{
    return va >= VM_WINDOW_BASE && len <= VM_WINDOW_SIZE && va - VM_WINDOW_BASE <= VM_WINDOW_SIZE - len;
}

int mem_platform_vwindow(uintptr_t *start, size_t *len)
{
    *start = VM_WINDOW_BASE;
    *len = VM_WINDOW_SIZE;
    return 0;
}

static void reclaim_locked(void);

static bool all_flushed(uint64_t gen)
{
    for (unsigned c = 0; c < native_ncpus; c++) {
        struct pcpu *p = native_pcpu_of(c);
        if (p && __atomic_load_n(&p->tlb_gen, __ATOMIC_ACQUIRE) < gen)
            return false;
    }
    return true;
}

/* Before addresses are used again (mapped, or reserved with a fault handler): waits until every
 * core has flushed the unmaps so far, or a core holding a stale entry would see the old page
 * instead of a fresh one. Never called with vmem's lock held (the unmap itself runs under it and
 * does not wait), so a core spinning on that lock cannot keep its flush from happening; a core
 * that stays in one long event is not waited for beyond a bound. */
static void wait_flushed(void)
{
    uint64_t gen = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE);
    vm_tlb_sync();
    if (all_flushed(gen))
        return;
    for (unsigned c = 0; c < native_ncpus; c++)
        if (c != ebb_core() && native_pcpu_of(c) && native_pcpu_of(c)->tlb_gen < gen)
            platform_wake(c);
    uint64_t until = clock_ns() + 100000000ull;
    while (!all_flushed(gen)) {
        if (clock_ns() > until) {
            kprintf("ebbrt: vm: a core did not flush its TLB within 100 ms; going on\n");
            break;
        }
        vm_tlb_sync(); /* take part in other cores' shootdowns meanwhile */
        ebb_cpu_relax();
    }
    spin_lock(&vm_lock);
    reclaim_locked();
    spin_unlock(&vm_lock);
}

int mem_platform_map(uintptr_t va, size_t len)
{
    if (!in_window(va, len))
        return -1;
    wait_flushed();
    spin_lock(&vm_lock);
    for (uint64_t a = va; a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(a, true);
        if (!pte) {
            spin_unlock(&vm_lock);
            return -1;
        }
        if (!(*pte & (PTE_P | PTE_DEMAND)))
            *pte = PTE_DEMAND;
    }
    spin_unlock(&vm_lock);
    return 0;
}

/* Frees deferred pages every core has stopped seeing. Caller holds vm_lock. */
static void reclaim_locked(void)
{
    uint64_t seen = tlb_gen;
    for (unsigned c = 0; c < native_ncpus; c++) {
        struct pcpu *p = native_pcpu_of(c);
        uint64_t g = p ? __atomic_load_n(&p->tlb_gen, __ATOMIC_ACQUIRE) : seen;
        if (g < seen)
            seen = g;
    }
    for (struct batch **bp = &deferred; *bp;) {
        struct batch *b = *bp;
        if (b->gen > seen) {
            bp = &b->next;
            continue;
        }
        *bp = b->next;
        for (uint64_t i = 0; i < b->n; i++)
            mem_pages_free(phys_ptr(b->pa[i]), 0);
        mem_pages_free(b, 0);
    }
}

static void defer_locked(uint64_t gen, uint64_t pa)
{
    struct batch *b = deferred;
    if (!b || b->gen != gen || b->n == sizeof b->pa / sizeof b->pa[0]) {
        b = mem_pages_alloc(0, 0);
        if (!b) { /* no memory even for the list: the page leaks rather than being reused early */
            kprintf("ebbrt: out of memory: unmapped page 0x%lx leaks\n", pa);
            return;
        }
        b->gen = gen;
        b->n = 0;
        b->next = deferred;
        deferred = b;
    }
    b->pa[b->n++] = pa;
}

void mem_platform_unmap(uintptr_t va, size_t len)
{
    if (!in_window(va, len))
        return;
    spin_lock(&vm_lock);
    uint64_t gen = tlb_gen + 1;
    bool any = false;
    for (uint64_t a = va; a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(a, false);
        if (!pte) {
            a |= (2ul << 20) - 1; /* no table for this 2 MiB: skip it */
            a -= PAGE_SIZE - 1;
            continue;
        }
        if (*pte & PTE_P) {
            defer_locked(gen, *pte & PTE_ADDR);
            any = true;
        }
        *pte = 0;
        __asm__ volatile("invlpg (%0)" ::"r"(a) : "memory");
    }
    if (any)
        __atomic_store_n(&tlb_gen, gen, __ATOMIC_RELEASE);
    spin_unlock(&vm_lock);
    if (any) {
        vm_tlb_sync();
        for (unsigned c = 0; c < native_ncpus; c++)
            if (c != ebb_core())
                platform_wake(c);
    }
    spin_lock(&vm_lock);
    reclaim_locked();
    spin_unlock(&vm_lock);
}

void mem_platform_fault_hook(void) { wait_flushed(); }

uint64_t vm_virt_to_phys(uint64_t va)
{
    if (!in_window(va, 1))
        return 0;
    (void)*(volatile const uint8_t *)va; /* a demand page gets its frame now */
    spin_lock(&vm_lock);
    uint64_t *pte = pte_of(va, false);
    uint64_t pa = pte && (*pte & PTE_P) ? (*pte & PTE_ADDR) | (va & (PAGE_SIZE - 1)) : 0;
    spin_unlock(&vm_lock);
    return pa;
}

size_t ebb_native_vm_pending_pages(void)
{
    size_t n = 0;
    spin_lock(&vm_lock);
    for (struct batch *b = deferred; b; b = b->next)
        n += b->n;
    spin_unlock(&vm_lock);
    return n;
}

void vm_tlb_sync(void)
{
    uint64_t g = __atomic_load_n(&tlb_gen, __ATOMIC_ACQUIRE);
    struct pcpu *p = PCPU;
    if (p->tlb_gen == g)
        return;
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
    __atomic_store_n(&p->tlb_gen, g, __ATOMIC_RELEASE);
}

int vm_page_fault(uint64_t addr)
{
    if (!in_window(addr, 1))
        return -1;
    spin_lock(&vm_lock);
    uint64_t *pte = pte_of(addr, false);
    if (pte && (*pte & PTE_P)) { /* another core backed it meanwhile, or a stale TLB entry */
        spin_unlock(&vm_lock);
        __asm__ volatile("invlpg (%0)" ::"r"(addr) : "memory");
        return 0;
    }
    if (pte && (*pte & PTE_DEMAND)) {
        uint64_t *pg = zeroed_page();
        if (!pg) {
            spin_unlock(&vm_lock);
            kprintf("ebbrt: out of memory backing 0x%lx\n", addr);
            return -1;
        }
        *pte = (uint64_t)(uintptr_t)pg | PTE_P | PTE_W;
        spin_unlock(&vm_lock);
        return 0;
    }
    spin_unlock(&vm_lock);
    /* Not mapped: a region with a fault handler may map it (mem/vmem.h). */
    return vmem_fault(addr) == 0 ? 0 : -1;
}

/* ---- stacks: a vmem region each, demand-zero, with an unmapped guard page below ---- */

struct stack_region {
    struct vmem_region r;
    struct stack_region *next;
};
static struct stack_region *stacks;
static int stacks_lock;

void *platform_stack_alloc(size_t size)
{
    struct stack_region *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    if (vmem_reserve(&s->r, size + PAGE_SIZE, 0, NULL, NULL) < 0 ||
        vmem_map(&s->r, s->r.start + PAGE_SIZE, size) < 0) {
        if (s->r.len)
            vmem_release(&s->r);
        free(s);
        return NULL;
    }
    spin_lock(&stacks_lock);
    s->next = stacks;
    stacks = s;
    spin_unlock(&stacks_lock);
    return (void *)(s->r.start + PAGE_SIZE);
}

void platform_stack_free(void *base, size_t size)
{
    (void)size;
    spin_lock(&stacks_lock);
    struct stack_region **pp = &stacks;
    while (*pp && (*pp)->r.start + PAGE_SIZE != (uintptr_t)base)
        pp = &(*pp)->next;
    struct stack_region *s = *pp;
    if (s)
        *pp = s->next;
    spin_unlock(&stacks_lock);
    if (!s)
        ebb_panic("platform_stack_free(%p): not a stack", base);
    vmem_release(&s->r);
    free(s);
}

/* A fault in the guard page below a stack: said plainly in the fault report. */
bool vm_is_stack_guard(uint64_t addr)
{
    bool hit = false;
    spin_lock(&stacks_lock);
    for (struct stack_region *s = stacks; s && !hit; s = s->next)
        hit = addr - s->r.start < PAGE_SIZE;
    spin_unlock(&stacks_lock);
    return hit;
}

#else /* no mem/: stacks straight from the allocator, no guard page */

size_t ebb_native_vm_pending_pages(void) { return 0; }
uint64_t vm_virt_to_phys(uint64_t va) { (void)va; return 0; }
int vm_page_fault(uint64_t addr) { (void)addr; return -1; }
void vm_tlb_sync(void) {}
bool vm_is_stack_guard(uint64_t addr) { (void)addr; return false; }
void *platform_stack_alloc(size_t size) { return aligned_alloc(PAGE_SIZE, size); }
void platform_stack_free(void *base, size_t size) { (void)size; free(base); }

#endif
