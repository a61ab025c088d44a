/* PCI enumeration and set-up (pci.h). Configuration space through the memory-mapped ECAM that
 * ACPI's MCFG describes (PCI Express machines: QEMU's q35), else through ports 0xCF8/0xCFC
 * (every x86 PC machine QEMU has; its pc has no ECAM). Buses are found from bus 0 through PCI-PCI bridges. qboot leaves
 * every BAR at 0: those are given addresses here, memory from the PCI hole below 4 GiB and ports
 * from 0xC000, around whatever the firmware did assign. */
#include <stdio.h>
#include <string.h>
#include "core/spinlock.h"
#include "ebb_native.h"
#include "native.h"
#include "pci.h"

#define CFG_ADDR 0xCF8
#define CFG_DATA 0xCFC
#define PCI_COMMAND 0x04
#define CMD_IO 0x1
#define CMD_MEM 0x2
#define CMD_MASTER 0x4
#define CMD_INTX_OFF 0x400
#define PCI_STATUS_CAPS 0x10
#define CAP_MSIX 0x11

/* Where unassigned BARs go: inside the i440fx/q35 PCI hole whatever the RAM size (RAM below
 * 4 GiB ends at 0xE0000000 at most), below the I/O APIC; ports above the legacy ones. */
#define MEM_WINDOW_START 0xE0000000ull
#define MEM_WINDOW_END 0xFEC00000ull
#define IO_WINDOW_START 0xC000ull
#define IO_WINDOW_END 0x10000ull

static struct pci_dev devs[PCI_MAX_DEVS];
static unsigned ndevs;
static bool scanned;
static int cfg_lock, scan_lock;

static volatile uint8_t *ecam; /* the MCFG's window, mapped; NULL: ports */

static uint32_t cfg_addr(unsigned bus, unsigned slot, unsigned fn, unsigned off)
{
    return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (off & 0xFC);
}

/* The dword of a function's ECAM space, or NULL for a bus outside the window (then it reads as
 * absent, all ones, like an empty slot). */
static volatile uint32_t *ecam_dword(unsigned bus, unsigned slot, unsigned fn, unsigned off)
{
    if (bus < native_ecam_bus_start || bus > native_ecam_bus_end)
        return NULL;
    return (volatile uint32_t *)(ecam + ((uint64_t)(bus - native_ecam_bus_start) << 20 | slot << 15 | fn << 12 | (off & 0xFFC)));
}

static uint32_t cfg_read(unsigned bus, unsigned slot, unsigned fn, unsigned off)
{
    if (ecam) {
        volatile uint32_t *p = ecam_dword(bus, slot, fn, off);
        return p ? *p : 0xFFFFFFFFu;
    }
    spin_lock(&cfg_lock);
    outl(CFG_ADDR, cfg_addr(bus, slot, fn, off));
    uint32_t v = inl(CFG_DATA);
    spin_unlock(&cfg_lock);
    return v;
}

static void cfg_write(unsigned bus, unsigned slot, unsigned fn, unsigned off, uint32_t v)
{
    if (ecam) {
        volatile uint32_t *p = ecam_dword(bus, slot, fn, off);
        if (p)
            *p = v;
        return;
    }
    spin_lock(&cfg_lock);
    outl(CFG_ADDR, cfg_addr(bus, slot, fn, off));
    outl(CFG_DATA, v);
    spin_unlock(&cfg_lock);
}

/* ECAM when the MCFG gave one and it can be mapped; the ports otherwise. */
static void cfg_init(void)
{
    if (!native_ecam_phys)
        return;
    uint64_t len = (uint64_t)(native_ecam_bus_end - native_ecam_bus_start + 1) << 20;
    ecam = mm_map_mmio(native_ecam_phys, len);
    if (ecam)
        kprintf("pci: ECAM at %#lx, buses %u-%u\n", (unsigned long)native_ecam_phys,
                native_ecam_bus_start, native_ecam_bus_end);
    else
        kprintf("pci: ECAM at %#lx cannot be mapped; using ports\n", (unsigned long)native_ecam_phys);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off) { return cfg_read(d->bus, d->slot, d->fn, off); }
uint16_t pci_read16(const struct pci_dev *d, unsigned off) { return (uint16_t)(pci_read32(d, off) >> (off & 2) * 8); }
uint8_t pci_read8(const struct pci_dev *d, unsigned off) { return (uint8_t)(pci_read32(d, off) >> (off & 3) * 8); }
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v) { cfg_write(d->bus, d->slot, d->fn, off, v); }

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
    unsigned sh = (off & 2) * 8;
    uint32_t w = pci_read32(d, off);
    pci_write32(d, off, (w & ~(0xFFFFu << sh)) | (uint32_t)v << sh);
}

uint8_t pci_cap_next(const struct pci_dev *d, uint8_t id, uint8_t after)
{
    if (!(pci_read16(d, 0x06) & PCI_STATUS_CAPS))
        return 0;
    uint8_t p = after ? pci_read8(d, after + 1) : pci_read8(d, 0x34);
    for (int guard = 0; p >= 0x40 && guard < 48; guard++) { /* a looping list must not hang us */
        p &= 0xFC;
        if (pci_read8(d, p) == id)
            return p;
        p = pci_read8(d, p + 1);
    }
    return 0;
}

/* ---- BARs ---- */

/* Sizes BAR i (decoding off meanwhile); returns the index of the next BAR. */
static unsigned size_bar(struct pci_dev *d, unsigned i)
{
    unsigned off = 0x10 + 4 * i;
    uint32_t lo = pci_read32(d, off);
    bool io = lo & 1, is64 = !io && ((lo >> 1) & 3) == 2;
    pci_write32(d, off, 0xFFFFFFFFu);
    uint32_t mlo = pci_read32(d, off);
    pci_write32(d, off, lo);
    uint64_t addr = io ? lo & ~3u : lo & ~0xFu, mask = io ? (mlo & ~3u) | 0xFFFF0000u : mlo & ~0xFu;
    if (is64) {
        uint32_t hi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, 0xFFFFFFFFu);
        uint32_t mhi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, hi);
        addr |= (uint64_t)hi << 32;
        mask |= (uint64_t)mhi << 32;
    } else {
        mask |= 0xFFFFFFFF00000000ull;
    }
    if (mlo && mask != 0xFFFFFFFFFFFFFFFFull) {
        d->bar_len[i] = ~mask + 1;
        d->bar[i] = addr;
        d->bar_io[i] = io;
    }
    return i + (is64 ? 2 : 1);
}

static bool overlaps_assigned(uint64_t a, uint64_t len, bool io)
{
    for (unsigned k = 0; k < ndevs; k++)
        for (unsigned i = 0; i < 6; i++) {
            const struct pci_dev *o = &devs[k];
            if (o->bar[i] && o->bar_io[i] == io && a < o->bar[i] + o->bar_len[i] && o->bar[i] < a + len)
                return true;
        }
    return false;
}

/* An aligned free range of len in [*next, end), or 0. */
static uint64_t place(uint64_t *next, uint64_t end, uint64_t len, bool io)
{
    uint64_t a = (*next + len - 1) & ~(len - 1);
    while (a + len <= end) {
        if (!overlaps_assigned(a, len, io)) {
            *next = a + len;
            return a;
        }
        a += len;
    }
    return 0;
}

static void assign_bars(void)
{
    uint64_t mem_next = MEM_WINDOW_START, io_next = IO_WINDOW_START;
    if (mm_ram_top() > mem_next && mm_ram_top() < MEM_WINDOW_END)
        mem_next = mm_ram_top();
    for (unsigned k = 0; k < ndevs; k++) {
        struct pci_dev *d = &devs[k];
        uint16_t cmd = pci_read16(d, PCI_COMMAND);
        bool changed = false;
        for (unsigned i = 0; i < 6; i++) {
            if (d->bar[i] || !d->bar_len[i])
                continue;
            bool io = d->bar_io[i];
            uint64_t a = io ? place(&io_next, IO_WINDOW_END, d->bar_len[i], true)
                            : place(&mem_next, MEM_WINDOW_END, d->bar_len[i], false);
            if (!a) {
                kprintf("pci: %02x:%02x.%x: no room for BAR%u (%lu bytes)\n", d->bus, d->slot,
                        d->fn, i, (unsigned long)d->bar_len[i]);
                continue;
            }
            unsigned off = 0x10 + 4 * i;
            uint32_t lo = pci_read32(d, off);
            pci_write32(d, off, (uint32_t)a | (lo & (io ? 3u : 0xFu)));
            if (!io && ((lo >> 1) & 3) == 2)
                pci_write32(d, off + 4, (uint32_t)(a >> 32));
            d->bar[i] = a;
            changed = true;
        }
        if (changed)
            pci_write16(d, PCI_COMMAND, cmd | CMD_IO | CMD_MEM);
    }
}

/* ---- INTx ---- */

/* The PIIX3/PIIX4 routes PCI INTx lines (PIRQA-D) to ISA IRQs; qboot leaves the routing off and
 * the interrupt line registers unset or wrong. Where no PIRQ is routed, route them as SeaBIOS
 * does (PIRQA-D to IRQ 10, 10, 11, 11); then each device's line is what its pin really reaches:
 * on the i440fx, PIRQ (slot + pin - 2) mod 4. */
static const uint8_t pirq_irq[4] = {10, 10, 11, 11};

/* q35's ICH9 wires PIRQA-H to I/O APIC inputs 16-23 whatever its ISA routing says; a device in
 * bus 0's slots 0-24 reaches PIRQE-H, (slot + pin) rotated (QEMU's defaults, as its ACPI _PRT
 * says). */
static void route_intx_ich9(void)
{
    for (unsigned k = 0; k < ndevs; k++) {
        struct pci_dev *d = &devs[k];
        uint8_t pin = pci_read8(d, 0x3D);
        if (!pin || pin > 4 || d->bus != 0 || d->slot > 24)
            continue;
        d->irq_line = (uint8_t)(16 + 4 + ((d->slot + pin - 1) & 3));
        pci_write32(d, 0x3C, (pci_read32(d, 0x3C) & ~0xFFu) | d->irq_line);
    }
}

static void route_intx(void)
{
    struct pci_dev *isa = NULL;
    for (unsigned k = 0; k < ndevs; k++) {
        if (devs[k].vendor == 0x8086 && devs[k].device == 0x2918 && devs[k].bus == 0) {
            route_intx_ich9();
            return;
        }
        if (devs[k].vendor == 0x8086 && (devs[k].device == 0x7000 || devs[k].device == 0x7110))
            isa = &devs[k];
    }
    if (!isa || isa->bus != 0)
        return;
    uint32_t rc = pci_read32(isa, 0x60);
    if ((rc & 0x80808080u) == 0x80808080u) /* every PIRQ off: nobody routed them */
        pci_write32(isa, 0x60, (uint32_t)pirq_irq[0] | pirq_irq[1] << 8 | pirq_irq[2] << 16 | (uint32_t)pirq_irq[3] << 24);
    rc = pci_read32(isa, 0x60);
    for (unsigned k = 0; k < ndevs; k++) {
        struct pci_dev *d = &devs[k];
        uint8_t pin = pci_read8(d, 0x3D);
        if (!pin || pin > 4 || d->bus != 0)
            continue;
        uint8_t irq = (uint8_t)(rc >> 8 * ((d->slot + pin - 2) & 3));
        if (irq & 0x80)
            continue;
        d->irq_line = irq & 0x0F;
        pci_write32(d, 0x3C, (pci_read32(d, 0x3C) & ~0xFFu) | d->irq_line);
    }
}

/* ---- enumeration ---- */

static void scan_bus(unsigned bus, unsigned depth);

static void scan_fn(unsigned bus, unsigned slot, unsigned fn, unsigned depth)
{
    uint32_t id = cfg_read(bus, slot, fn, 0);
    uint32_t class = cfg_read(bus, slot, fn, 0x08) >> 8;
    uint8_t htype = (uint8_t)(cfg_read(bus, slot, fn, 0x0C) >> 16) & 0x7F;
    if (htype == 1 && (class >> 8) == 0x0604) { /* PCI-PCI bridge: its secondary bus */
        unsigned sec = (cfg_read(bus, slot, fn, 0x18) >> 8) & 0xFF;
        if (sec > bus && depth < 8)
            scan_bus(sec, depth + 1);
        return;
    }
    if (htype != 0)
        return;
    if (ndevs == PCI_MAX_DEVS) {
        kprintf("pci: more than %u devices; %02x:%02x.%x and later ignored\n", PCI_MAX_DEVS, bus, slot, fn);
        return;
    }
    struct pci_dev *d = &devs[ndevs++];
    *d = (struct pci_dev){.bus = (uint8_t)bus, .slot = (uint8_t)slot, .fn = (uint8_t)fn,
                          .vendor = (uint16_t)id, .device = (uint16_t)(id >> 16)};
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd & ~(CMD_IO | CMD_MEM));
    for (unsigned i = 0; i < 6;)
        i = size_bar(d, i);
    pci_write16(d, PCI_COMMAND, cmd);
    uint8_t pin = pci_read8(d, 0x3D);
    d->irq_line = pin ? pci_read8(d, 0x3C) : 0xFF;
    d->msix_cap = pci_cap_next(d, CAP_MSIX, 0);
    if (d->msix_cap)
        d->msix_n = (uint16_t)((pci_read16(d, d->msix_cap + 2) & 0x7FF) + 1);
}

static void scan_bus(unsigned bus, unsigned depth)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        if ((cfg_read(bus, slot, 0, 0) & 0xFFFF) == 0xFFFF)
            continue;
        bool multi = (cfg_read(bus, slot, 0, 0x0C) >> 16) & 0x80;
        for (unsigned fn = 0; fn < (multi ? 8u : 1u); fn++)
            if ((cfg_read(bus, slot, fn, 0) & 0xFFFF) != 0xFFFF)
                scan_fn(bus, slot, fn, depth);
    }
}

struct pci_dev *pci_find(uint16_t vendor, const uint16_t *ids, unsigned nids, unsigned nth)
{
    spin_lock(&scan_lock);
    if (!scanned) {
        cfg_init();
        scan_bus(0, 0);
        assign_bars();
        route_intx();
        scanned = true;
    }
    spin_unlock(&scan_lock);
    for (unsigned k = 0; k < ndevs; k++) {
        if (devs[k].vendor != vendor)
            continue;
        for (unsigned j = 0; j < nids; j++)
            if (devs[k].device == ids[j] && nth-- == 0)
                return &devs[k];
    }
    return NULL;
}

volatile void *pci_bar_ptr(const struct pci_dev *d, unsigned i, uint64_t off, uint64_t len)
{
    if (i >= 6 || !d->bar[i] || d->bar_io[i] || off > d->bar_len[i] || len > d->bar_len[i] - off)
        return NULL;
    uint64_t pa = d->bar[i] + off;
    if (pa + len <= 0x100000000ull)
        return phys_ptr(pa);
    return mm_map_mmio(pa, len);
}

/* ---- MSI-X ---- */

int pci_msix_enable(struct pci_dev *d)
{
    if (!d->msix_cap)
        return -1;
    uint32_t tab = pci_read32(d, d->msix_cap + 4);
    d->msix_table = pci_bar_ptr(d, tab & 7, tab & ~7u, (uint64_t)d->msix_n * 16);
    if (!d->msix_table)
        return -1;
    uint16_t ctl = pci_read16(d, d->msix_cap + 2);
    pci_write16(d, d->msix_cap + 2, ctl | 0xC000); /* enabled, all masked while we fill it */
    for (unsigned e = 0; e < d->msix_n; e++)
        d->msix_table[e * 4 + 3] = 1;
    pci_write16(d, d->msix_cap + 2, (ctl | 0x8000) & ~0x4000);
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | CMD_MASTER | CMD_INTX_OFF);
    return 0;
}

void pci_msix_route(struct pci_dev *d, unsigned entry, unsigned core, unsigned vector)
{
    if (!d->msix_table || entry >= d->msix_n)
        return;
    volatile uint32_t *e = d->msix_table + entry * 4;
    uint64_t addr = ebb_native_msi_address(core);
    e[3] = 1;
    e[0] = (uint32_t)addr;
    e[1] = (uint32_t)(addr >> 32);
    e[2] = ebb_native_msi_data(vector);
    e[3] = 0;
}
