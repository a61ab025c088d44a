/* Internals of the native platform, shared by its files (not for applications). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ebb_platform.h"

#define PAGE_SIZE 4096ul
#define KERNEL_VMA 0xFFFFFFFF80000000ul
#define MAX_CPUS 64 /* EBB_MAX_CORES */

/* ---- x86 helpers ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }

/* Registers as isr_common (boot.S) saves them. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* ---- per core ---- */
struct pcpu {
    struct ebb_native_pcpu_hdr hdr; /* first: ebb_core() reads it */
    uint32_t apic_id;
    volatile int wake;              /* platform_wake() pending */
    int in_trap;                    /* nested fault guard */
    uint64_t irqs;                  /* device interrupts taken */
    uint64_t tlb_gen;               /* the unmap generation this core has flushed */
    uint64_t *ltt_pdpt;             /* the tables behind this core's translation table */
};
extern struct pcpu native_pcpu; /* = ebb_native_pcpu (link.ld), seen whole */
#define PCPU (&native_pcpu)

extern unsigned native_ncpus;                /* CPUs found (MADT), at most MAX_CPUS */
extern uint32_t native_apic_ids[MAX_CPUS];   /* core index -> APIC id; [0] is the BSP */
extern uint64_t native_boot_tsc;             /* TSC at the first instruction (boot.S) */
extern uint64_t native_main_tsc;             /* TSC when main() was called */

/* serial.c / console */
void serial_init(void);
void serial_write(const char *s, size_t n);
void console_write_unlocked(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* mm.c */
void mm_init(uint32_t mb_magic, uint64_t mb_info);
uint64_t mm_alloc_pages(size_t n);          /* early physical pages, zeroed; panics when out */
uint64_t mm_core_cr3(unsigned core);        /* builds core's tables on first call */
struct pcpu *native_pcpu_of(unsigned core); /* any core's struct pcpu (identity address) */
void mm_handoff(void);                       /* hands what is left to the page allocator */
const char *mm_cmdline(void);
uint64_t mm_ram_top(void);
bool mm_is_mapped(uint64_t va, size_t len);

uint64_t *mm_master_pml4(void);
/* Every core's translation table (its %gs base): PML4 slot LTT_PML4, 32 GiB, demand-paged. */
#define LTT_PML4 510u
#define LTT_BASE 0xFFFFFF0000000000ul
#define LTT_SIZE (8ul << 32)
#define MSR_GS_BASE 0xC0000101u
int mm_ltt_fault(uint64_t addr);
/* vm.c: the vmem window, demand-zero pages, deferred TLB shootdown */
#define VM_WINDOW_PML4 256u
#define VM_WINDOW_BASE 0xFFFF800000000000ul
#define VM_WINDOW_SIZE (1ul << 39)
int vm_page_fault(uint64_t addr);   /* 0: handled, retry the access */
void vm_tlb_sync(void);             /* each core, between events */
bool vm_is_stack_guard(uint64_t addr);
uint64_t vm_virt_to_phys(uint64_t va); /* a window address (its page touched first); 0: unmapped */
/* The physical address of any kernel address a device may be handed (identity map, the image,
 * the vmem window); 0 if it has none. Contiguous only up to the end of its 4 KiB page when it is
 * in the vmem window. */
uint64_t native_virt_to_phys(const void *p);

/* trap.c */
void trap_init_core(unsigned core);          /* GDT, TSS, IDT on this core */
void native_trap(struct trap_frame *f);
typedef void (*irq_handler)(struct trap_frame *f);
void trap_set_handler(unsigned vector, irq_handler h);
void backtrace_print(uint64_t rip, uint64_t rbp);
__attribute__((noreturn)) void native_fatal(int code);

/* acpi.c */
void acpi_init(void);
void acpi_poweroff(void);
/* PCI Express enhanced configuration space (ECAM) of segment 0, from the MCFG table; 0 when the
 * machine has none (QEMU's pc: pci.c then uses ports 0xCF8/0xCFC). */
extern uint64_t native_ecam_phys;
extern uint8_t native_ecam_bus_start, native_ecam_bus_end;

/* apic.c: local APIC, clock, timers, IPIs */
#define VEC_TIMER 0xF0
#define VEC_WAKE 0xF1
#define VEC_SPURIOUS 0xFF
extern uint64_t native_lapic_phys;
void apic_init_core(void);
uint32_t apic_id(void);
void apic_eoi(void);
void apic_send_ipi(uint32_t apic_id, uint32_t vector);
void apic_send_init(uint32_t apic_id);
void apic_send_sipi(uint32_t apic_id, uint8_t page);
void clock_calibrate(void);
/* Checks the source of randomness (random.c); stops the machine with a message if there is none. */
void native_random_init(void);
uint64_t clock_ns(void);
void clock_delay_us(uint64_t us);
void apic_timer_oneshot_ns(uint64_t ns); /* 0: stop */
uint64_t native_tsc_hz(void);

/* irq.c */
void irq_init(void);
void *mm_map_mmio(uint64_t phys, uint64_t len);

/* smp.c */
void smp_boot(unsigned want);
void smp_release(void);

/* exit */
__attribute__((noreturn)) void native_machine_exit(int code);

#define NATIVE_EXIT_FAULT 126
#define NATIVE_EXIT_ABORT 125
void smp_wait_done(unsigned ncores);
extern uint64_t native_ioapic_phys;
extern uint32_t native_ioapic_gsi_base;

/* A pointer to identity-mapped physical memory. The empty asm hides the constant from GCC,
 * whose bounds checks take small constant addresses for offsets from NULL. */
static inline void *phys_ptr(uint64_t pa)
{
    __asm__("" : "+r"(pa));
    return (void *)pa;
}
