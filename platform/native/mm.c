/* Physical memory and page tables.
 *
 * The multiboot memory map gives the RAM; what the kernel image and low memory do not use is
 * kept as a list of free ranges, from which boot-time structures and (until the page allocator
 * takes over) the malloc family get pages.
 *
 * Virtual layout, the same on every core:
 *   [0, top)            identity map of RAM and the 32-bit MMIO hole (2 MiB pages; the first
 *                       2 MiB in 4 KiB pages so that page 0 stays unmapped: NULL faults)
 *   -2 GiB + [0, 1 GiB) the kernel image (link.ld)
 *   -1 TiB + [0, 32 GiB) this core's translation table (LTT_BASE, its %gs base), demand-paged
 *   -1 GiB + 512 KiB    this core's struct pcpu page
 * Each core has its own PML4, its own table tree under the translation table and its own top
 * PDPT, so that those two windows map distinct pages on each core; everything else is shared by
 * pointing at the same lower-level tables. */
#include <string.h>
#include "core/ebb.h"
#if __has_include("mem/page.h")
#include "mem/gp.h"
#include "mem/page.h"
#define HAVE_MEM 1
#endif
#include "core/spinlock.h"
#include "native.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull
#define TWO_MB (2ull << 20)
#define ONE_GB (1ull << 30)
#define PCPU_PT_INDEX 128 /* the pcpu page: -1 GiB + 512 KiB (link.ld) */

extern char _kernel_start[], _kernel_end[];

struct range { uint64_t start, end; };
#define MAX_RANGES 128
static struct range ram[MAX_RANGES];     /* RAM as the firmware reported it */
static unsigned nram;
static struct range freer[MAX_RANGES];   /* sorted, disjoint, page aligned */
static unsigned nfree;
static int free_lock;
static uint64_t ram_top, identity_top;

static char cmdline[1024];

static uint64_t *master_pml4, *kernel_pd;
static uint64_t core_cr3[MAX_CPUS];
static struct pcpu *core_pcpu[MAX_CPUS];

struct pcpu *native_pcpu_of(unsigned core) { return core_pcpu[core]; }

const char *mm_cmdline(void) { return cmdline; }
uint64_t mm_ram_top(void) { return ram_top; }

static void *phys_to_virt(uint64_t p) { return (void *)(uintptr_t)p; }

/* Removes [s, e) from the free list. */
static void reserve(uint64_t s, uint64_t e)
{
    for (unsigned i = 0; i < nfree; i++) {
        struct range *r = &freer[i];
        if (e <= r->start || s >= r->end)
            continue;
        if (s > r->start && e < r->end) { /* split */
            if (nfree == MAX_RANGES)
                return;
            memmove(&freer[i + 2], &freer[i + 1], (nfree - i - 1) * sizeof *r);
            freer[i + 1] = (struct range){ e, r->end };
            r->end = s;
            nfree++;
            return;
        }
        if (s <= r->start)
            r->start = e < r->end ? e : r->end;
        else
            r->end = s;
    }
    unsigned j = 0;
    for (unsigned i = 0; i < nfree; i++)
        if (freer[i].start < freer[i].end)
            freer[j++] = freer[i];
    nfree = j;
}

static void add_free(uint64_t s, uint64_t e)
{
    s = (s + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    e &= ~(PAGE_SIZE - 1);
    if (s >= e)
        return;
    unsigned i = 0;
    while (i < nfree && freer[i].start < s)
        i++;
    if (i > 0 && freer[i - 1].end == s) { /* merge with the one before, maybe the one after */
        freer[i - 1].end = e;
        if (i < nfree && freer[i].start == e) {
            freer[i - 1].end = freer[i].end;
            memmove(&freer[i], &freer[i + 1], (nfree - i - 1) * sizeof freer[0]);
            nfree--;
        }
        return;
    }
    if (i < nfree && freer[i].start == e) {
        freer[i].start = s;
        return;
    }
    if (nfree == MAX_RANGES)
        return; /* too fragmented to track: the pages are lost, not corrupted */
    memmove(&freer[i + 1], &freer[i], (nfree - i) * sizeof freer[0]);
    freer[i] = (struct range){ s, e };
    nfree++;
}

static uint64_t take_pages(size_t n)
{
    uint64_t want = n * PAGE_SIZE;
    for (unsigned i = 0; i < nfree; i++) {
        if (freer[i].end - freer[i].start >= want) {
            uint64_t p = freer[i].start;
            reserve(p, p + want);
            return p;
        }
    }
    return 0;
}

static bool handed_off __attribute__((unused));

uint64_t mm_alloc_pages(size_t n)
{
    spin_lock(&free_lock);
    uint64_t p = take_pages(n);
    spin_unlock(&free_lock);
#ifdef HAVE_MEM
    if (!p && handed_off) {
        unsigned order = 0;
        while ((1ul << order) < n)
            order++;
        p = (uint64_t)(uintptr_t)mem_pages_alloc(0, order);
    }
#endif
    if (!p) {
        kprintf("ebbrt: out of memory for %zu boot pages\n", n);
        native_fatal(12);
    }
    memset(phys_to_virt(p), 0, n * PAGE_SIZE);
    return p;
}

/* The page source of the malloc family (libc/malloc.c). */
void *native_pages_alloc(size_t n)
{
    spin_lock(&free_lock);
    uint64_t p = take_pages(n);
    spin_unlock(&free_lock);
    return p ? phys_to_virt(p) : NULL;
}

void native_pages_free(void *p, size_t n)
{
    spin_lock(&free_lock);
    add_free((uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + n * PAGE_SIZE);
    spin_unlock(&free_lock);
}

static bool is_ram(uint64_t s, uint64_t e)
{
    for (unsigned i = 0; i < nram; i++)
        if (s >= ram[i].start && e <= ram[i].end)
            return true;
    return false;
}

bool mm_is_mapped(uint64_t va, size_t len)
{
    uint64_t end = va + len;
    if (end < va)
        return false;
    if (va >= (uint64_t)_kernel_start && end <= (uint64_t)_kernel_end)
        return true;
    if (va >= LTT_BASE && end <= LTT_BASE + LTT_SIZE)
        return true; /* demand-paged */
    if (va >= (uint64_t)(uintptr_t)&ebb_native_pcpu && end <= (uint64_t)(uintptr_t)&ebb_native_pcpu + PAGE_SIZE)
        return true;
    return va >= PAGE_SIZE && end <= identity_top;
}

static void parse_multiboot(uint32_t magic, uint64_t mbi)
{
    if (magic != 0x2BADB002) {
        kprintf("ebbrt: not started by a multiboot loader (magic %#x)\n", magic);
        native_fatal(1);
    }
    const uint32_t *info = phys_to_virt(mbi);
    uint32_t flags = info[0];
    if ((flags & (1u << 2)) && info[4]) {
        strlcpy(cmdline, phys_to_virt(info[4]), sizeof cmdline);
    }
    if (flags & (1u << 6)) {
        const char *p = phys_to_virt(info[12]), *end = p + info[11];
        while (p < end && nram < MAX_RANGES) {
            uint32_t size;
            uint64_t base, len;
            uint32_t type;
            memcpy(&size, p, 4);
            memcpy(&base, p + 4, 8);
            memcpy(&len, p + 12, 8);
            memcpy(&type, p + 20, 4);
            if (type == 1 && len) {
                ram[nram++] = (struct range){ base, base + len };
                if (base + len > ram_top)
                    ram_top = base + len;
            }
            p += size + 4;
        }
    } else if (flags & 1u) {
        ram[nram++] = (struct range){ 0, (uint64_t)info[1] << 10 };
        ram[nram++] = (struct range){ 1ull << 20, (1ull << 20) + ((uint64_t)info[2] << 10) };
        ram_top = ram[1].end;
    }
    if (!nram) {
        kprintf("ebbrt: the boot loader gave no memory map\n");
        native_fatal(1);
    }
    for (unsigned i = 0; i < nram; i++)
        add_free(ram[i].start, ram[i].end);
    /* Low memory (BIOS data, the AP trampoline) and the kernel image stay out. */
    reserve(0, 1ull << 20);
    reserve((uint64_t)_kernel_start - KERNEL_VMA, (uint64_t)_kernel_end - KERNEL_VMA);
}

static uint64_t *new_table(void) { return phys_to_virt(mm_alloc_pages(1)); }

static void build_master(void)
{
    master_pml4 = new_table();
    uint64_t top = ram_top > 4 * ONE_GB ? ram_top : 4 * ONE_GB;
    top = (top + ONE_GB - 1) & ~(ONE_GB - 1);
    uint64_t *pdpt = new_table();
    master_pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
    if (top > 512 * ONE_GB)
        top = 512 * ONE_GB; /* one PDPT: enough for these guests */
    identity_top = top;
    for (uint64_t g = 0; g < top / ONE_GB; g++) {
        uint64_t *pd = new_table();
        pdpt[g] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
        for (unsigned i = 0; i < 512; i++) {
            uint64_t pa = g * ONE_GB + i * TWO_MB;
            uint64_t cache = is_ram(pa, pa + TWO_MB) || pa < TWO_MB ? 0 : PTE_PCD | PTE_PWT;
            pd[i] = pa | PTE_P | PTE_W | PTE_PS | cache;
        }
    }
    /* First 2 MiB in small pages, without page 0. */
    uint64_t *pd0 = phys_to_virt(pdpt[0] & PTE_ADDR);
    uint64_t *pt = new_table();
    for (unsigned i = 1; i < 512; i++)
        pt[i] = i * PAGE_SIZE | PTE_P | PTE_W;
    pd0[0] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W;

    /* The vmem window (vm.c): its PDPT exists from the start, so every core's copy of the
     * PML4 shares whatever is mapped there later. */
    master_pml4[VM_WINDOW_PML4] = (uint64_t)(uintptr_t)new_table() | PTE_P | PTE_W;

    kernel_pd = new_table();
    for (unsigned i = 0; i < 512; i++)
        kernel_pd[i] = i * TWO_MB | PTE_P | PTE_W | PTE_PS;
}

uint64_t *mm_master_pml4(void) { return master_pml4; }

/* The table entry at index i of table t, a zeroed page made if none is there. */
static uint64_t *next_level(uint64_t *t, unsigned i)
{
    if (!(t[i] & PTE_P))
        t[i] = mm_alloc_pages(1) | PTE_P | PTE_W;
    return phys_to_virt(t[i] & PTE_ADDR);
}

/* A first touch of a page of this core's translation table: a zeroed page (and the tables
 * above it), mapped for this core only (so no other core's TLB is concerned). A core pays for
 * the 4 KiB pages of the ids it called. Returns 0, or -1 if addr is not in the table. */
int mm_ltt_fault(uint64_t addr)
{
    uint64_t off = addr - LTT_BASE;
    if (off >= LTT_SIZE)
        return -1;
    uint64_t *pd = next_level(PCPU->ltt_pdpt, (unsigned)(off >> 30));
    uint64_t *pt = next_level(pd, (unsigned)(off >> 21) & 511);
    next_level(pt, (unsigned)(off >> 12) & 511);
    return 0;
}

uint64_t mm_core_cr3(unsigned core)
{
    if (core_cr3[core])
        return core_cr3[core];
    uint64_t *pml4 = new_table(), *pdpt = new_table(), *pd = new_table(), *pt = new_table();
    uint64_t *ltt_pdpt = new_table();
    memcpy(pml4, master_pml4, PAGE_SIZE);
    pml4[LTT_PML4] = (uint64_t)(uintptr_t)ltt_pdpt | PTE_P | PTE_W;
    pml4[511] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
    pdpt[510] = (uint64_t)(uintptr_t)kernel_pd | PTE_P | PTE_W;
    pdpt[511] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
    pd[0] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W;
    /* The translation table's pages are mapped on first touch (mm_ltt_fault): a core uses a
     * few of its 2^23, and zeroing even 128 of them cost most of a core's start-up under TCG. */
    uint64_t mem = mm_alloc_pages(1);
    pt[PCPU_PT_INDEX] = mem | PTE_P | PTE_W;
    struct pcpu *pc = phys_to_virt(mem);
    pc->ltt_pdpt = ltt_pdpt;
    pc->hdr.core = core;
    pc->apic_id = native_apic_ids[core];
    pc->tlb_gen = 1; /* a new core has no stale entries: it has seen every unmap so far (vm.c) */
    core_pcpu[core] = pc;
    core_cr3[core] = (uint64_t)(uintptr_t)pml4;
    return core_cr3[core];
}

/* Device memory beyond the identity map (e.g. a 64-bit PCI BAR): maps whole GiBs of it,
 * uncached, at the same addresses, in the identity PDPT that every core shares. */
void *mm_map_mmio(uint64_t phys, uint64_t len)
{
    uint64_t end = phys + len;
    if (end < phys || end > 512 * ONE_GB)
        return NULL;
    static int lock;
    spin_lock(&lock);
    uint64_t *pdpt = phys_to_virt(master_pml4[0] & PTE_ADDR);
    for (uint64_t g = phys / ONE_GB; g < (end + ONE_GB - 1) / ONE_GB; g++) {
        if (pdpt[g] & PTE_P)
            continue;
        uint64_t *pd = new_table();
        for (unsigned i = 0; i < 512; i++)
            pd[i] = (g * ONE_GB + i * TWO_MB) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
        __atomic_store_n(&pdpt[g], (uint64_t)(uintptr_t)pd | PTE_P | PTE_W, __ATOMIC_RELEASE);
    }
    spin_unlock(&lock);
    return phys_to_virt(phys);
}

void *ebb_native_map_mmio(uint64_t phys, uint64_t len) { return mm_map_mmio(phys, len); }

/* Memory goes to the page allocator (mem/) in chunks, the first at boot (mm_handoff) and the
 * next ones when it runs dry (mem_platform_grow), each twice the size of the one before: boot
 * then costs the same whatever the RAM size, since the allocator's page descriptors (carved from
 * the start of each chunk) must be zeroed, and touching memory is what costs under a hypervisor.
 * Without mem/, the fallback malloc (libc/malloc.c) draws from the free ranges directly. */
#ifdef HAVE_MEM
#define FIRST_CHUNK (32ull << 20)
static uint64_t next_chunk = FIRST_CHUNK;

/* Gives one chunk of at least `want` bytes (if the ranges have it); returns its size. Caller
 * holds free_lock. */
static uint64_t give_chunk(uint64_t want)
{
    if (!nfree)
        return 0;
    uint64_t size = want > next_chunk ? want : next_chunk;
    struct range *r = &freer[0];
    for (unsigned i = 1; i < nfree; i++) /* the largest range, so chunks stay large */
        if (freer[i].end - freer[i].start > r->end - r->start)
            r = &freer[i];
    uint64_t s = r->start, e = r->end - s > size ? s + size : r->end;
    if (r->end - e < FIRST_CHUNK) /* do not leave a sliver too small to be worth a range */
        e = r->end;
    uint64_t npages = (e - s) / PAGE_SIZE;
    uint64_t meta = (npages * sizeof(struct mem_page) + PAGE_SIZE - 1) / PAGE_SIZE;
    /* The descriptors must start zeroed; the boot loader may have left data here. */
    memset(phys_to_virt(s), 0, (meta < npages ? meta : npages) * PAGE_SIZE);
    reserve(s, e);
    if (mem_add_range(0, s, e) < 0) {
        kprintf("ebbrt: the page allocator refused memory [%#lx, %#lx)\n", s, e);
        return 0;
    }
    next_chunk *= 2;
    return e - s;
}

int mem_platform_grow(unsigned node, size_t bytes)
{
    (void)node; /* one node natively */
    spin_lock(&free_lock);
    uint64_t got = 0;
    while (got < bytes && nfree) {
        uint64_t g = give_chunk(bytes - got);
        if (!g)
            break;
        got += g;
    }
    spin_unlock(&free_lock);
    return got ? 0 : -1;
}

/* RAM is the machine's own: nothing to give back to. */
void mem_platform_release(void *p, size_t len) { (void)p, (void)len; }

/* One general-purpose allocator rep per core. */
struct gp *gp_self(void)
{
    static struct gp *core_gp[EBB_MAX_CORES];
    unsigned c = ebb_core();
    if (c >= EBB_MAX_CORES)
        c = 0;
    if (!core_gp[c] && !(core_gp[c] = gp_acquire(ebb_numa_node_of(c))))
        mem_fatal("mem: no memory for core %u's allocator", c);
    return core_gp[c];
}
#endif

void mm_handoff(void)
{
#ifdef HAVE_MEM
    spin_lock(&free_lock);
    give_chunk(FIRST_CHUNK);
    handed_off = true;
    spin_unlock(&free_lock);
#endif
}

void mm_init(uint32_t magic, uint64_t mbi)
{
    parse_multiboot(magic, mbi);
    build_master();
    write_cr3(mm_core_cr3(0));
    wrmsr(MSR_GS_BASE, LTT_BASE);
}

uint64_t native_virt_to_phys(const void *p)
{
    uint64_t va = (uint64_t)(uintptr_t)p;
    if (va >= KERNEL_VMA)
        return va < KERNEL_VMA + ONE_GB ? va - KERNEL_VMA : 0; /* the image, not the per-core GiB */
    if (va >= VM_WINDOW_BASE)
        return vm_virt_to_phys(va);
    return va < 512 * ONE_GB ? va : 0; /* the identity map */
}
