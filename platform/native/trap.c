/* Descriptor tables and traps: a GDT with a TSS per core (an IST stack for NMI, double fault and
 * machine check, so a blown stack still gets reported), one IDT for all cores, and the fatal
 * path that prints the registers and a symbolised backtrace and stops the machine. */
#include <string.h>
#include "core/platform.h"
#include "native.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap;
} __attribute__((packed));

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, attr;
    uint16_t off_mid;
    uint32_t off_hi, reserved;
} __attribute__((packed));

struct dt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static uint64_t gdt[MAX_CPUS][5] __attribute__((aligned(16)));
static struct tss tss[MAX_CPUS] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];
extern char native_isr_stubs[];

/* The symbol table from the second link (ksyms.sh); absent in the first. */
extern const uint64_t native_ksym_count __attribute__((weak));
extern const uint64_t native_ksym_addr[] __attribute__((weak));
extern const uint32_t native_ksym_name[] __attribute__((weak));
extern const char native_ksym_strs[] __attribute__((weak));

static void idt_build(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(native_isr_stubs + 16 * v);
        idt[v] = (struct idt_gate){
            .off_lo = (uint16_t)a, .sel = 0x08, .attr = 0x8E, /* present, interrupt gate */
            .off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
            .ist = (v == 2 || v == 8 || v == 18) ? 1 : v == 14 ? 2 : 0,
        };
    }
}

void trap_init_core(unsigned core)
{
    if (core == 0)
        idt_build();
    /* IST1: NMI, double fault, machine check. IST2: page faults, which must work when a stack
     * runs into its next demand-zero page or its guard page (vm.c). */
    tss[core].ist[0] = mm_alloc_pages(4) + 4 * PAGE_SIZE;
    tss[core].ist[1] = mm_alloc_pages(4) + 4 * PAGE_SIZE;
    tss[core].iomap = sizeof(struct tss);
    uint64_t base = (uint64_t)&tss[core], limit = sizeof(struct tss) - 1;
    uint64_t *g = gdt[core];
    g[0] = 0;
    g[1] = 0x00AF9A000000FFFFull; /* 0x08 code */
    g[2] = 0x00CF92000000FFFFull; /* 0x10 data */
    g[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
           ((limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56);
    g[4] = base >> 32;
    struct dt_ptr gp = { sizeof gdt[0] - 1, (uint64_t)g };
    struct dt_ptr ip = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq $0x08\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov $0x10, %%eax\n\t"
                     "mov %%eax, %%ds\n\t"
                     "mov %%eax, %%es\n\t"
                     "mov %%eax, %%ss\n\t"
                     "mov $0x18, %%eax\n\t"
                     "ltr %%ax\n\t"
                     "lidt %1"
                     :
                     : "m"(gp), "m"(ip)
                     : "rax", "memory");
}

void trap_set_handler(unsigned vector, irq_handler h) { handlers[vector] = h; }

/* "name+0xoff" for a code address, or "?" */
static const char *symbolise(uint64_t a, uint64_t *off)
{
    if (!&native_ksym_count || !native_ksym_count || a < native_ksym_addr[0])
        return NULL;
    size_t lo = 0, hi = native_ksym_count; /* last entry <= a */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (native_ksym_addr[mid] <= a)
            lo = mid;
        else
            hi = mid;
    }
    *off = a - native_ksym_addr[lo];
    return native_ksym_strs + native_ksym_name[lo];
}

static void print_pc(unsigned i, uint64_t pc)
{
    uint64_t off = 0;
    const char *s = symbolise(pc, &off);
    if (s)
        kprintf("  #%u 0x%016lx %s+0x%lx\n", i, pc, s, off);
    else
        kprintf("  #%u 0x%016lx ?\n", i, pc);
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
    kprintf("backtrace:\n");
    unsigned i = 0;
    print_pc(i++, rip);
    while (i < 32 && rbp && !(rbp & 7) && mm_is_mapped(rbp, 16)) {
        uint64_t ret = ((uint64_t *)rbp)[1];
        if (!ret)
            break;
        /* A return address points after the call: look up the call itself. */
        print_pc(i++, ret - 1);
        uint64_t next = ((uint64_t *)rbp)[0];
        if (next <= rbp && !(next == 0))
            break; /* frames must go up the stack */
        rbp = next;
    }
}

static const char *const names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid TSS",
    "segment not present", "stack fault", "general protection", "page fault", "reserved",
    "x87 floating point", "alignment check", "machine check", "SIMD floating point",
    "virtualization", "control protection",
};

static void fatal_trap(struct trap_frame *f)
{
    kprintf("\nebbrt: fatal %s (vector %lu, error %#lx) on core %u\n",
            names[f->vector] ? names[f->vector] : "exception", f->vector, f->error, ebb_core());
    if (f->vector == 14)
        kprintf("  fault address 0x%lx (%s, %s)\n", read_cr2(), f->error & 1 ? "protection" : "not mapped",
                f->error & 2 ? "write" : f->error & 16 ? "instruction fetch" : "read");
    if ((f->vector == 14 || f->vector == 8) && vm_is_stack_guard(read_cr2()))
        kprintf("  stack overflow: 0x%lx is the guard page below a stack\n", read_cr2());
    kprintf("  rip %016lx rsp %016lx rflags %016lx\n", f->rip, f->rsp, f->rflags);
    kprintf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    kprintf("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
    kprintf("  r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n", f->r9, f->r10, f->r11, f->r12);
    kprintf("  r13 %016lx r14 %016lx r15 %016lx\n", f->r13, f->r14, f->r15);
    backtrace_print(f->rip, f->rbp);
    native_fatal(NATIVE_EXIT_FAULT);
}

void native_trap(struct trap_frame *f)
{
    if (f->vector == 14 && !PCPU->in_trap &&
        (mm_ltt_fault(read_cr2()) == 0 || vm_page_fault(read_cr2()) == 0))
        return; /* a translation-table or demand-zero page, now backed: retry */
    if (f->vector < 32) {
        if (PCPU->in_trap++) {
            kprintf("\nebbrt: fault (vector %lu at rip 0x%lx) while reporting a fault\n", f->vector, f->rip);
            native_fatal(NATIVE_EXIT_FAULT);
        }
        fatal_trap(f);
    }
    if (handlers[f->vector])
        handlers[f->vector](f);
    if (f->vector != VEC_SPURIOUS)
        apic_eoi();
}

void platform_abort(void)
{
    if (!PCPU->in_trap++) {
        kprintf("ebbrt: abort on core %u\n", ebb_core());
        uint64_t rbp = (uint64_t)__builtin_frame_address(0);
        backtrace_print((uint64_t)__builtin_return_address(0) - 1, ((uint64_t *)rbp)[0]);
    }
    native_fatal(NATIVE_EXIT_ABORT);
}

void native_fatal(int code) { native_machine_exit(code); }
