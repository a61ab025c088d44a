/* Native-only services for applications and drivers. */
#pragma once
#include <stdint.h>

/* Boot-time stamps (TSC) and the TSC rate, for boot-time measurements. */
uint64_t ebb_native_boot_tsc(void);   /* first instruction of the kernel */
uint64_t ebb_native_main_tsc(void);   /* when main() was called */
uint64_t ebb_native_tsc_hz(void);

/* Where ebb_random() draws from: "RDRAND", or "virtio-rng" on a CPU without it. */
const char *ebb_native_random_source(void);

/* Device interrupts. A core takes interrupts only between events (when its loop polls or
 * halts), so an interrupt never cuts into application code. Binding a handler gives a vector;
 * each time the vector arrives on a core, fn(arg) runs there as an event (at most one pending
 * per vector and core, so a burst of interrupts becomes one call: drivers drain their queues).
 * Returns 0 when no vector is free. */
#include <stdbool.h>
typedef void (*ebb_irq_fn)(void *arg);
unsigned ebb_native_irq_bind(ebb_irq_fn fn, void *arg);
void ebb_native_irq_unbind(unsigned vector);
/* An MSI / MSI-X message that delivers `vector` to `core`. */
uint64_t ebb_native_msi_address(unsigned core);
uint32_t ebb_native_msi_data(unsigned vector);
/* Routes an I/O APIC input (a GSI, e.g. a PCI INTx line) to vector on core; -1 without one. */
int ebb_native_ioapic_route(unsigned gsi, unsigned vector, unsigned core, bool level, bool active_low);
/* Device registers: physical MMIO below 4 GiB is identity-mapped uncached; this maps a range
 * elsewhere (e.g. a 64-bit BAR) the same way and returns its address, or NULL. */
void *ebb_native_map_mmio(uint64_t phys, uint64_t len);
/* Sends `vector` to `core` as an inter-processor interrupt (a bound vector: see above). */
void ebb_native_send_ipi(unsigned core, unsigned vector);

/* Pages of the vmem window unmapped but not yet reusable: some core may still hold them in its
 * TLB until its loop passes between two events. */
#include <stddef.h>
size_t ebb_native_vm_pending_pages(void);
