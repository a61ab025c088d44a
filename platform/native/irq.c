/* Device interrupts (include/ebb_native.h): vectors bound to handlers that run as events, MSI
 * messages, I/O APIC routing, and the legacy PIC kept out of the way. */
#include "core/ebb.h"
#include "core/event.h"
#include "core/platform.h"
#include "core/spinlock.h"
#include "ebb_native.h"
#include "native.h"

#define VEC_FIRST 0x30
#define VEC_LAST 0xEF

static struct binding {
    ebb_irq_fn fn;
    void *arg;
    unsigned char pending[MAX_CPUS];
} bindings[256];
static int bind_lock;

static void run_bound(void *arg)
{
    struct binding *b = arg;
    __atomic_store_n(&b->pending[ebb_core()], 0, __ATOMIC_RELAXED);
    if (b->fn)
        b->fn(b->arg);
}

/* In interrupt context, between two events of this core: only queue the event. */
static void device_irq(struct trap_frame *f)
{
    struct binding *b = &bindings[f->vector];
    PCPU->irqs++;
    /* A core whose loop has not started yet (an AP taking its release IPI) still queues the
     * event: the loop runs it once it starts. */
    if (b->fn && !b->pending[ebb_core()] && ebb_core() < ebb_ncores()) {
        b->pending[ebb_core()] = 1;
        ebb_spawn(run_bound, b);
    }
}

unsigned ebb_native_irq_bind(ebb_irq_fn fn, void *arg)
{
    spin_lock(&bind_lock);
    for (unsigned v = VEC_FIRST; v <= VEC_LAST; v++) {
        if (!bindings[v].fn) {
            bindings[v].arg = arg;
            __atomic_store_n(&bindings[v].fn, fn, __ATOMIC_RELEASE);
            trap_set_handler(v, device_irq);
            spin_unlock(&bind_lock);
            return v;
        }
    }
    spin_unlock(&bind_lock);
    return 0;
}

void ebb_native_irq_unbind(unsigned vector)
{
    if (vector >= VEC_FIRST && vector <= VEC_LAST)
        __atomic_store_n(&bindings[vector].fn, NULL, __ATOMIC_RELEASE);
}

uint64_t ebb_native_msi_address(unsigned core)
{
    return 0xFEE00000ull | (uint64_t)(native_apic_ids[core] & 0xFF) << 12;
}

uint32_t ebb_native_msi_data(unsigned vector) { return vector & 0xFF; /* fixed, edge */ }

static void ioapic_write(unsigned reg, uint32_t v)
{
    volatile uint32_t *io = phys_ptr(native_ioapic_phys);
    io[0] = reg;
    io[4] = v;
}

static uint32_t ioapic_read(unsigned reg)
{
    volatile uint32_t *io = phys_ptr(native_ioapic_phys);
    io[0] = reg;
    return io[4];
}

int ebb_native_ioapic_route(unsigned gsi, unsigned vector, unsigned core, bool level, bool active_low)
{
    if (!native_ioapic_phys || gsi < native_ioapic_gsi_base || core >= native_ncpus)
        return -1;
    unsigned pin = gsi - native_ioapic_gsi_base;
    if (pin > ((ioapic_read(1) >> 16) & 0xFF))
        return -1;
    ioapic_write(0x11 + 2 * pin, native_apic_ids[core] << 24);
    ioapic_write(0x10 + 2 * pin, vector | (level ? 1u << 15 : 0) | (active_low ? 1u << 13 : 0));
    return 0;
}

/* The 8259 PICs: moved off the exception vectors (0x20-0x2F) and masked; the firmware may have
 * left the PIT's IRQ 0 open. */
void irq_init(void)
{
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 0x20);
    outb(0xA1, 0x28);
    outb(0x21, 4);
    outb(0xA1, 2);
    outb(0x21, 1);
    outb(0xA1, 1);
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

void ebb_native_send_ipi(unsigned core, unsigned vector)
{
    if (core < native_ncpus && vector >= VEC_FIRST && vector <= VEC_LAST)
        apic_send_ipi(native_apic_ids[core], vector);
}
