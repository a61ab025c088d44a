/* The vmem allocator: virtual address ranges, with a page-fault handler per region.
 *
 * The platform gives a window of virtual addresses (hosted: a PROT_NONE reservation; native: a
 * range of the kernel's address space) and maps and unmaps memory in it. vmem hands out
 * page-aligned ranges of the window (first fit, coalescing on release). A region may install a
 * fault handler: an access to an unmapped page of the region calls it (native: from the page
 * fault handler; hosted: from SIGSEGV), e.g. to back stacks or large regions on demand. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct vmem_region;
/* Returns 0 when it made the access valid (the access is retried), -1 to let it fail. */
typedef int (*vmem_fault_fn)(struct vmem_region *r, uintptr_t addr);

struct vmem_region {
    uintptr_t start;
    size_t len;
    vmem_fault_fn fault;  /* NULL: accesses to unmapped pages fail */
    void *arg;
    size_t mapped;        /* bytes mapped by vmem_map() / vmem_fault_zero */
    struct vmem_region *next_;
};

/* Reserves len bytes (rounded up to pages) aligned to align (a power of two >= a page, or 0)
 * and fills r; nothing is mapped. Returns 0, or -1 when the window has no such range. */
int vmem_reserve(struct vmem_region *r, size_t len, size_t align, vmem_fault_fn fault, void *arg);
/* Unmaps whatever is mapped and gives the range back. */
void vmem_release(struct vmem_region *r);
/* Maps [addr, addr + len) of the region with zeroed memory. */
int vmem_map(struct vmem_region *r, uintptr_t addr, size_t len);
/* A fault handler that maps the faulting page with zeroed memory. */
int vmem_fault_zero(struct vmem_region *r, uintptr_t addr);
/* The platform's fault path calls this: 0 if a region handled the fault, -1 if none did. */
int vmem_fault(uintptr_t addr);
/* The region containing addr, or NULL. */
struct vmem_region *vmem_region_of(uintptr_t addr);

/* Large general-purpose allocations (beyond the largest buddy block): a mapped region each. */
void *vmem_alloc_large(size_t len, size_t align);
int vmem_free_large(void *p);            /* 0 if p was one; -1 otherwise */
size_t vmem_large_size(const void *p);   /* its usable size, 0 if p is not one */

void vmem_fork_lock(void);
void vmem_fork_unlock(void);
