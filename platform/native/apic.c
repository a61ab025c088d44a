/* Local APIC (x2APIC through MSRs where the CPU offers it, else xAPIC through MMIO), the clock
 * (TSC) and the APIC timer, both calibrated against the PIT, and IPIs. */
#include "native.h"

#define IA32_APIC_BASE 0x1B
#define REG_ID 0x20
#define REG_TPR 0x80
#define REG_EOI 0xB0
#define REG_SVR 0xF0
#define REG_ICR_LO 0x300
#define REG_ICR_HI 0x310
#define REG_LVT_TIMER 0x320
#define REG_TIMER_INIT 0x380
#define REG_TIMER_CUR 0x390
#define REG_TIMER_DIV 0x3E0

static bool x2apic;
static uint64_t tsc_hz, apic_hz;
static uint64_t ns_mult;      /* ns = tsc_delta * ns_mult >> 32 */
static uint64_t apic_mult;    /* apic ticks = ns * apic_mult >> 32 */

static uint32_t apic_read(uint32_t reg)
{
    if (x2apic)
        return (uint32_t)rdmsr(0x800 + (reg >> 4));
    return *(volatile uint32_t *)(native_lapic_phys + reg);
}

static void apic_write(uint32_t reg, uint32_t v)
{
    if (x2apic)
        wrmsr(0x800 + (reg >> 4), v);
    else
        *(volatile uint32_t *)(native_lapic_phys + reg) = v;
}

static void spurious(struct trap_frame *f) { (void)f; }
static void nothing(struct trap_frame *f) { (void)f; } /* the wake-up is the interrupt itself */

void apic_init_core(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    x2apic = r[2] & (1u << 21);
    uint64_t base = rdmsr(IA32_APIC_BASE);
    base |= 1u << 11;                       /* enabled */
    if (x2apic)
        base |= 1u << 10;
    wrmsr(IA32_APIC_BASE, base);
    apic_write(REG_TPR, 0);
    apic_write(REG_SVR, 0x100 | VEC_SPURIOUS);
    apic_write(REG_TIMER_DIV, 0xB);         /* divide by 1 */
    apic_write(REG_LVT_TIMER, 1u << 16 | VEC_TIMER);
    trap_set_handler(VEC_SPURIOUS, spurious);
    trap_set_handler(VEC_TIMER, nothing);
    trap_set_handler(VEC_WAKE, nothing);
}

uint32_t apic_id(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (r[2] & (1u << 21) && (rdmsr(IA32_APIC_BASE) & (1u << 10)))
        return (uint32_t)rdmsr(0x802);
    return r[1] >> 24; /* the initial APIC id: valid before the APIC is set up */
}

void apic_eoi(void) { apic_write(REG_EOI, 0); }

static void send_icr(uint32_t dest, uint32_t lo)
{
    if (x2apic) {
        wrmsr(0x830, (uint64_t)dest << 32 | lo);
        return;
    }
    apic_write(REG_ICR_HI, dest << 24);
    apic_write(REG_ICR_LO, lo);
    for (int i = 0; i < 1000000 && (apic_read(REG_ICR_LO) & (1u << 12)); i++)
        ebb_cpu_relax(); /* delivery pending */
}

void apic_send_ipi(uint32_t dest, uint32_t vector) { send_icr(dest, vector); }

void apic_send_init(uint32_t dest)
{
    send_icr(dest, 0x4500);          /* INIT, level assert */
    if (!x2apic)
        send_icr(dest, 0x8500);      /* INIT level de-assert (old xAPICs want it) */
}

void apic_send_sipi(uint32_t dest, uint8_t page) { send_icr(dest, 0x4600 | page); }

/* ---- clock ---- */

#define PIT_HZ 1193182u

static uint16_t pit_read(void)
{
    outb(0x43, 0x80); /* latch channel 2 */
    uint8_t lo = inb(0x42), hi = inb(0x42);
    return (uint16_t)(hi << 8 | lo);
}

/* One (tsc, pit, apic) sample, retried until the three reads are close together, so that a
 * vCPU descheduled between them (TCG on a busy host) cannot skew the calibration. */
static void sample(uint64_t *tsc, uint16_t *pit, uint32_t *apic)
{
    for (int tries = 0;; tries++) {
        uint64_t t0 = rdtsc();
        *pit = pit_read();
        *apic = apic_read(REG_TIMER_CUR);
        uint64_t t1 = rdtsc();
        *tsc = t0 + (t1 - t0) / 2;
        if (t1 - t0 < 200000 || tries == 20) /* < ~0.1 ms at any plausible rate */
            return;
    }
}

void clock_calibrate(void)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* channel 2 gate on, speaker off */
    outb(0x43, 0xB0);                       /* channel 2, lo/hi, mode 0 */
    outb(0x42, 0xFF);
    outb(0x42, 0xFF);
    apic_write(REG_TIMER_INIT, 0xFFFFFFFFu);
    uint64_t t0, t1;
    uint16_t p0, p1;
    uint32_t a0, a1;
    sample(&t0, &p0, &a0);
    /* ~1 ms of PIT ticks; the samples, not the wait, set the accuracy. */
    do
        sample(&t1, &p1, &a1);
    while ((uint16_t)(p0 - p1) < PIT_HZ / 1000);
    apic_write(REG_TIMER_INIT, 0);
    double secs = (double)(uint16_t)(p0 - p1) / PIT_HZ;
    tsc_hz = (uint64_t)((double)(t1 - t0) / secs);
    apic_hz = (uint64_t)((double)(a0 - a1) / secs);
    ns_mult = (uint64_t)(1e9 * 4294967296.0 / (double)tsc_hz);
    apic_mult = (uint64_t)((double)apic_hz * 4294967296.0 / 1e9);
}

uint64_t native_tsc_hz(void) { return tsc_hz; }

uint64_t clock_ns(void)
{
    uint64_t d = rdtsc() - native_boot_tsc;
    return (uint64_t)(((unsigned __int128)d * ns_mult) >> 32);
}

void clock_delay_us(uint64_t us)
{
    uint64_t end = clock_ns() + us * 1000;
    while (clock_ns() < end)
        ebb_cpu_relax();
}

void apic_timer_oneshot_ns(uint64_t ns)
{
    if (!ns) {
        apic_write(REG_TIMER_INIT, 0);
        return;
    }
    unsigned __int128 t = ((unsigned __int128)ns * apic_mult) >> 32;
    uint32_t ticks = t > 0xFFFFFFFFu ? 0xFFFFFFFFu : t ? (uint32_t)t : 1;
    apic_write(REG_LVT_TIMER, VEC_TIMER); /* one-shot, unmasked */
    apic_write(REG_TIMER_INIT, ticks);
}
