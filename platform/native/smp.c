/* Starting the other CPUs: INIT, then two STARTUP IPIs, one AP at a time, each on its own page
 * tables (so it wakes up seeing its own translation table) and boot stack. Delays follow Linux:
 * 10 ms after INIT only on CPUs older than family 6 (Intel) / 0xF (AMD), where the spec's wait
 * matters, 10 us (old: 200 us) between the STARTUP IPIs, and the second one only if needed. */
#include <string.h>
#include "core/platform.h"
#include "native.h"

#define TRAMP 0x8000

extern char native_tramp_start[], native_tramp_end[];
extern uint64_t native_tramp_cr3, native_tramp_stack;

static volatile unsigned ap_started;   /* core index of the last AP that checked in */
static volatile int released;
static volatile int ap_done[MAX_CPUS];

static bool legacy_cpu(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    bool intel = r[1] == 0x756e6547, amd = r[1] == 0x68747541;
    cpuid(1, 0, r);
    unsigned family = (r[0] >> 8) & 0xF;
    if (family == 0xF)
        family += (r[0] >> 20) & 0xFF;
    return !((intel && family == 6) || (amd && family >= 0xF) || family > 6);
}

static void tramp_set(uint64_t *field, uint64_t v)
{
    *(uint64_t *)phys_ptr(TRAMP + (uint64_t)((char *)field - native_tramp_start)) = v;
}

void smp_boot(unsigned want)
{
    if (want > native_ncpus)
        want = native_ncpus;
    if (want < 2)
        return;
    memcpy(phys_ptr(TRAMP), native_tramp_start, (size_t)(native_tramp_end - native_tramp_start));
    bool legacy = legacy_cpu();
    unsigned up = 1;
    for (unsigned c = 1; c < want; c++) {
        uint32_t id = native_apic_ids[c];
        tramp_set(&native_tramp_cr3, mm_core_cr3(c));
        tramp_set(&native_tramp_stack, mm_alloc_pages(4) + 4 * PAGE_SIZE);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        apic_send_init(id);
        if (legacy)
            clock_delay_us(10000);
        apic_send_sipi(id, TRAMP >> 12);
        clock_delay_us(legacy ? 200 : 10);
        if (ap_started != c) {
            apic_send_sipi(id, TRAMP >> 12);
            clock_delay_us(legacy ? 200 : 10);
        }
        /* TCG starts a vCPU thread on demand; give it time, but never hang boot. */
        uint64_t until = clock_ns() + 1000000000ull;
        while (ap_started != c && clock_ns() < until)
            ebb_cpu_relax();
        if (ap_started != c) {
            kprintf("ebbrt: CPU %u (APIC id %u) did not start; going on with %u cores\n", c, id, c);
            break;
        }
        up++;
    }
    native_ncpus = up;
}

void native_ap_main(void)
{
    wrmsr(MSR_GS_BASE, LTT_BASE); /* this core's translation table, before any Ebb call */
    unsigned core = ebb_core();
    PCPU->apic_id = native_apic_ids[core];
    trap_init_core(core);
    apic_init_core();
    __atomic_store_n(&ap_started, core, __ATOMIC_RELEASE);
    /* Sleep until the runtime needs this core, and after its loop ends, still taking part in
     * TLB shootdowns (vm.c) whenever woken. */
    while (!released) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        vm_tlb_sync();
    }
    ebb_core_run(core);
    __atomic_store_n(&ap_done[core], 1, __ATOMIC_RELEASE);
    for (;;) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        vm_tlb_sync();
    }
}

void smp_release(void)
{
    released = 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (unsigned c = 1; c < native_ncpus; c++)
        apic_send_ipi(native_apic_ids[c], VEC_WAKE);
}

/* Waits (bounded) for the APs to leave their loops after ebb_exit(). */
void smp_wait_done(unsigned ncores)
{
    uint64_t until = clock_ns() + 1000000000ull;
    for (unsigned c = 1; c < ncores; c++)
        while (!ap_done[c] && clock_ns() < until) {
            vm_tlb_sync(); /* an AP freeing its stacks waits for this core's flush */
            ebb_cpu_relax();
        }
}
