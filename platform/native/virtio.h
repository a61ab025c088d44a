/* virtio over PCI for native drivers: the modern (1.x) interface through its capabilities, or
 * the legacy/transitional one through I/O BAR 0, behind one set of calls; split virtqueues with
 * or without EVENT_IDX. A device is driven by one driver; each queue by one core at a time
 * (callers lock a queue that several cores share). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "pci.h"

#define VIRTIO_F_RING_EVENT_IDX (1ull << 29)
#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_F_ANY_LAYOUT (1ull << 27)
#define VIRTIO_NO_VECTOR 0xFFFF

struct virtio_dev {
    struct pci_dev *pci;
    bool modern;
    bool msix;                 /* MSI-X on: one table entry per queue */
    volatile uint8_t *common, *isr, *devcfg, *notify;
    uint32_t notify_mult;
    uint16_t io;               /* legacy: I/O BAR 0 */
    uint64_t offered, features;
};

struct virtq_seg {
    uint64_t addr;             /* physical */
    uint32_t len;
};

struct vring_desc;
struct vring_avail;
struct vring_used;

struct virtq {
    struct virtio_dev *dev;
    uint16_t index, size;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t free_head, num_free;
    uint16_t last_used;        /* next used entry to take */
    uint16_t avail_idx;        /* next avail entry to fill (published by virtq_kick) */
    uint16_t kicked_idx;       /* avail index at the last notification */
    bool event_idx;
    volatile uint16_t *notify_mmio;
    void **cookie;             /* per head descriptor: what the caller added */
    uint64_t kicks;
};

/* Resets the device and announces a driver; turns MSI-X on when the device has it. 0, or -1
 * with a message (unusable device). */
int virtio_open(struct virtio_dev *v, struct pci_dev *d, const char *name);
/* Accepts offered & wanted (VERSION_1 is added on a modern device); 0, or -1 when the device
 * refuses. v->features holds the result. */
int virtio_negotiate(struct virtio_dev *v, uint64_t wanted);
/* Sets up queue `index` with at most max_size entries, its interrupts to MSI-X entry
 * `msix_entry` (VIRTIO_NO_VECTOR: none). 0, or -1 (no such queue, no memory, vector refused). */
int virtq_init(struct virtio_dev *v, struct virtq *q, unsigned index, unsigned max_size,
               unsigned msix_entry);
void virtio_driver_ok(struct virtio_dev *v);
void virtio_fail(struct virtio_dev *v);
/* Reads (and so acknowledges) the ISR status: bit 0 a queue, bit 1 the configuration changed. */
uint8_t virtio_isr(struct virtio_dev *v);
uint8_t virtio_cfg8(struct virtio_dev *v, unsigned off);
uint16_t virtio_cfg16(struct virtio_dev *v, unsigned off);

/* Queues n_out device-readable then n_in device-writable segments as one chain (not yet
 * visible to the device: virtq_kick). Returns 0, or -1 when fewer than n_out+n_in descriptors
 * are free. */
int virtq_add(struct virtq *q, const struct virtq_seg *segs, unsigned n_out, unsigned n_in, void *cookie);
/* Publishes what was added and notifies the device unless it asked not to be. */
void virtq_kick(struct virtq *q);
/* The cookie of the next chain the device used (its length written in *len), or NULL. */
void *virtq_get(struct virtq *q, uint32_t *len);
bool virtq_has_used(const struct virtq *q);
/* Interrupts for used buffers on (returns true if some arrived meanwhile: take them) or off. */
bool virtq_irq_on(struct virtq *q);
void virtq_irq_off(struct virtq *q);
/* The device's used index: how many chains it has given back (mod 2^16). */
uint16_t virtq_used_idx(const struct virtq *q);
/* Notifies the device whatever it asked (recovering a notification that was lost). */
void virtq_notify(struct virtq *q);
/* "avail=.. used=.. taken=.. free=.. kicks=..": the ring's indices, for diagnostics. */
int virtq_format(const struct virtq *q, char *buf, size_t len);
