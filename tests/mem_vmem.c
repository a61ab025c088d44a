/* The vmem allocator: reserving and releasing ranges of the window, a region whose pages are
 * mapped on first touch by its fault handler (hosted: through SIGSEGV), and general-purpose
 * allocations too big for the largest buddy block. */
#define _GNU_SOURCE
#include "mem/gp.h"
#include "mem/vmem.h"
#include "tap.h"

static volatile int faults; /* written from the SIGSEGV handler */
static int counting_fault(struct vmem_region *r, uintptr_t addr)
{
    faults++;
    return vmem_fault_zero(r, addr);
}

int main(void)
{
    tap_plan(20);
#ifdef EBB_HOSTED
    tap_deadline(120);
#endif
    setenv("EBB_ARENA_MB", "256", 1);
    struct vmem_region a, b, c;
    if (!is(vmem_reserve(&a, 1 << 20, 0, counting_fault, NULL), 0, "reserve 1 MiB with a fault handler"))
        return tap_done(); /* the rest needs the region */
    ok(a.start && (a.start & 4095) == 0 && a.len == (1 << 20), "the region is page aligned");
    is(vmem_reserve(&b, 3 << 20, 2 << 20, NULL, NULL), 0, "reserve 3 MiB aligned to 2 MiB");
    ok((b.start & ((2 << 20) - 1)) == 0, "its start is 2 MiB aligned");
    ok(b.start >= a.start + a.len || b.start + b.len <= a.start, "the two ranges do not overlap");
    ok(vmem_region_of(a.start + 5000) == &a && vmem_region_of(b.start + b.len - 1) == &b,
       "addresses map to their regions");
    ok(vmem_region_of(b.start + b.len) != &b, "the end is exclusive");

    /* Touching pages of `a` faults them in, one handler call per page, zero filled. */
    volatile unsigned char *pa = (void *)a.start;
    int zero = 1;
    for (int i = 0; i < 16; i++) {
        zero &= pa[i * 4096 + 17] == 0;
        pa[i * 4096 + 17] = (unsigned char)i;
    }
    is(faults, 16, "16 pages touched, 16 faults handled");
    ok(zero, "fresh pages read as zero");
    is(a.mapped, 16 * 4096, "the region counts 64 KiB mapped");
    ok(pa[5 * 4096 + 17] == 5, "written data stays");
    is(vmem_fault(b.start), -1, "a region without a handler does not take faults");

    uintptr_t old = a.start;
    vmem_release(&a);
    is(vmem_reserve(&c, 1 << 20, 0, counting_fault, NULL), 0, "reserve again after release");
    ok(c.start == old, "the released range is reused (first fit)");
    faults = 0;
    unsigned char v = ((volatile unsigned char *)c.start)[17];
    ok(v == 0 && faults == 1,
       "a reused range is unmapped again and zero on the next touch");
    vmem_release(&c);
    vmem_release(&b);
    ok(vmem_reserve(&c, (size_t)1 << 50, 0, NULL, NULL) < 0, "an impossible size is refused");

    /* Beyond the largest buddy block (1 GiB), malloc takes a mapped vmem region. */
    struct gp *g = gp_self();
    size_t big = ((size_t)1 << 30) + 12345;
    unsigned char *p = gp_malloc(g, big);
    ok(p != NULL, "malloc of 1 GiB + 12345 B succeeds (from vmem)");
    if (p) {
        p[0] = 1, p[big - 1] = 2;
        ok(gp_usable_size(g, p) >= big, "its usable size covers the request");
        ok(gp_owns(p), "the general-purpose allocator owns it");
        gp_free(g, p);
        ok(!gp_owns(p) && vmem_large_size(p) == 0, "free gives the region back");
    }
    return tap_done();
}
