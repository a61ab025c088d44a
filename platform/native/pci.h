/* PCI for drivers of the native platform: enumeration through the port I/O configuration
 * mechanism, BARs assigned here when the firmware left them unassigned (qboot does), capability
 * lists, and MSI-X with one table entry per interrupt, each steered to a core. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_DEVS 64

struct pci_dev {
    uint8_t bus, slot, fn;
    uint16_t vendor, device;
    uint8_t irq_line;            /* the firmware's INTx routing (a GSI), 0xFF: none */
    uint64_t bar[6];             /* memory address or I/O port; 0: absent */
    uint64_t bar_len[6];
    bool bar_io[6];
    uint8_t msix_cap;            /* 0: no MSI-X */
    uint16_t msix_n;             /* table entries */
    volatile uint32_t *msix_table;
};

/* Enumerates (once) and returns the nth device (0, 1, ...) whose vendor is `vendor` and device
 * id one of ids[0..nids); NULL when there is none. */
struct pci_dev *pci_find(uint16_t vendor, const uint16_t *ids, unsigned nids, unsigned nth);

uint8_t pci_read8(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);

/* The offset of the next capability with `id` after the one at `after` (0: from the start);
 * 0 when there is none. */
uint8_t pci_cap_next(const struct pci_dev *d, uint8_t id, uint8_t after);
/* A kernel pointer to bytes [off, off+len) of memory BAR i, or NULL (absent, I/O, too short). */
volatile void *pci_bar_ptr(const struct pci_dev *d, unsigned i, uint64_t off, uint64_t len);

/* Turns MSI-X on with every entry masked (INTx off); 0, or -1 without MSI-X. */
int pci_msix_enable(struct pci_dev *d);
/* Entry `entry` delivers `vector` to `core`, unmasked. */
void pci_msix_route(struct pci_dev *d, unsigned entry, unsigned core, unsigned vector);
