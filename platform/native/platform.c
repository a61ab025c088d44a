/* The native platform's entry (native_kmain, from boot.S), what core/ needs from a platform
 * (core/platform.h), and the machine's exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/context.h"
#include "core/ebb.h"
#include "core/event.h"
#include "core/platform.h"
#include "ebb_native.h"
#include "native.h"

uint64_t native_main_tsc;
static unsigned ncores = 1;

uint64_t ebb_native_boot_tsc(void) { return native_boot_tsc; }
uint64_t ebb_native_main_tsc(void) { return native_main_tsc; }
uint64_t ebb_native_tsc_hz(void) { return native_tsc_hz(); }

uint64_t platform_now_ns(void) { return clock_ns(); }

/* Takes the interrupts pending on this core (an open window of one instruction): their handlers
 * queue events. Returns how many device interrupts came in. */
int platform_poll(void)
{
    uint64_t before = PCPU->irqs;
    vm_tlb_sync();
    __asm__ volatile("sti; nop; cli" ::: "memory");
    return (int)(PCPU->irqs - before);
}

/* Interrupts are on only here: events run to completion with them off. sti;hlt has no window
 * in between, so a wake-up IPI that arrives after the check still ends the hlt. */
void platform_wait(uint64_t deadline_ns)
{
    struct pcpu *p = PCPU;
    if (!__atomic_exchange_n(&p->wake, 0, __ATOMIC_ACQUIRE)) {
        if (deadline_ns != UINT64_MAX) {
            uint64_t now = clock_ns();
            if (deadline_ns <= now)
                return;
            apic_timer_oneshot_ns(deadline_ns - now);
        }
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        if (deadline_ns != UINT64_MAX)
            apic_timer_oneshot_ns(0);
        __atomic_store_n(&p->wake, 0, __ATOMIC_RELAXED);
    }
    vm_tlb_sync();
}

void platform_wake(unsigned core)
{
    if (core >= ncores)
        return;
    __atomic_store_n(&native_pcpu_of(core)->wake, 1, __ATOMIC_RELEASE);
    if (core != ebb_core())
        apic_send_ipi(native_apic_ids[core], VEC_WAKE);
}

/* Stacks: vm.c. */

void platform_exit(int code) { (void)code; }

/* The launcher (scripts/qemu-run) gives the guest a debugcon at 0xe9 to report its exit code
 * (so that a reset or a triple fault, after which QEMU also exits 0, is never taken for success)
 * and an isa-debug-exit at 0xf4. Status 0 powers off through ACPI, so QEMU itself exits 0;
 * any other status leaves through isa-debug-exit: QEMU exits (code << 1) | 1. */
void native_machine_exit(int code)
{
    cli();
    int c = code == 0 ? 0 : (code & 0x7f) ? code & 0x7f : 1;
    char msg[32];
    int n = snprintf(msg, sizeof msg, "ebbrt-exit %d\n", c);
    for (int i = 0; i < n; i++)
        outb(0xe9, (uint8_t)msg[i]);
    if (c == 0)
        acpi_poweroff();
    outl(0xf4, (uint32_t)c);
    for (;;)
        __asm__ volatile("cli; hlt");
}

unsigned platform_cpus(void) { return native_ncpus; }
unsigned platform_cores_max(void) { return native_ncpus; }

int platform_cores_start(unsigned n)
{
    ncores = n;
    smp_release();
    return 0;
}

void platform_cores_join(unsigned n) { smp_wait_done(n); }

static char cmdbuf[1024];
static char *argv_buf[128];

void native_kmain(uint32_t magic, uint64_t mbi)
{
    serial_init();
    mm_init(magic, mbi);
    trap_init_core(0);
    irq_init();
    acpi_init();
    PCPU->apic_id = native_apic_ids[0];
    apic_init_core();
    clock_calibrate();
    native_random_init();

    strlcpy(cmdbuf, mm_cmdline(), sizeof cmdbuf);
    int argc = ebb_config_split(cmdbuf, argv_buf, 128);
    if (!argc) {
        argv_buf[argc++] = "ebbrt";
        argv_buf[argc] = NULL;
    }
    /* Start only the CPUs the runtime will use: cores=N (checked again by ebb_config). */
    unsigned want = native_ncpus;
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv_buf[i], "cores=", 6)) {
            long n = strtol(argv_buf[i] + 6, NULL, 10);
            if (n >= 1 && n < (long)want)
                want = (unsigned)n;
        }
    smp_boot(want);
    mm_handoff();
    /* Constructors (e.g. registrations of Ebb roots) run before main, as in a hosted program. */
    extern void (*__init_array_start[])(void), (*__init_array_end[])(void);
    for (void (**f)(void) = __init_array_start; f < __init_array_end; f++)
        (*f)();
    ncores = native_ncpus;
    native_main_tsc = rdtsc();
    extern int main(int argc, char **argv); /* core/start.c's, unless the program has its own */
    native_machine_exit(main(argc, argv_buf));
}

void platform_halt(int code) { native_machine_exit(code); }
