/* virtio-pci, modern and legacy, and split virtqueues (virtio.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem/page.h"
#include "core/log.h"
#include "native.h"
#include "virtio.h"

/* Device status bits. */
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_FAILED 0x80

/* The modern common configuration structure. */
#define C_DFSELECT 0x00
#define C_DF 0x04
#define C_GFSELECT 0x08
#define C_GF 0x0C
#define C_MSIX_CONFIG 0x10
#define C_NUM_QUEUES 0x12
#define C_STATUS 0x14
#define C_Q_SELECT 0x16
#define C_Q_SIZE 0x18
#define C_Q_MSIX 0x1A
#define C_Q_ENABLE 0x1C
#define C_Q_NOTIFY_OFF 0x1E
#define C_Q_DESC 0x20
#define C_Q_DRIVER 0x28
#define C_Q_DEVICE 0x30

/* The legacy I/O registers. */
#define L_HOST_FEATURES 0x00
#define L_GUEST_FEATURES 0x04
#define L_Q_PFN 0x08
#define L_Q_SIZE 0x0C
#define L_Q_SELECT 0x0E
#define L_Q_NOTIFY 0x10
#define L_STATUS 0x12
#define L_ISR 0x13
#define L_MSIX_CONFIG 0x14
#define L_Q_MSIX 0x16

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1
#define LEGACY_ALIGN 4096

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
struct vring_avail {
    uint16_t flags, idx;
    uint16_t ring[]; /* then used_event */
};
struct vring_used_elem {
    uint32_t id, len;
};
struct vring_used {
    uint16_t flags, idx;
    struct vring_used_elem ring[]; /* then avail_event */
};

#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define barrier() __asm__ volatile("" ::: "memory") /* x86 keeps stores, and loads, in order */

static inline void w8(volatile uint8_t *b, unsigned off, uint8_t v) { *(volatile uint8_t *)(b + off) = v; }
static inline void w16(volatile uint8_t *b, unsigned off, uint16_t v) { *(volatile uint16_t *)(b + off) = v; }
static inline void w32(volatile uint8_t *b, unsigned off, uint32_t v) { *(volatile uint32_t *)(b + off) = v; }
static inline uint8_t r8(volatile uint8_t *b, unsigned off) { return *(volatile uint8_t *)(b + off); }
static inline uint16_t r16(volatile uint8_t *b, unsigned off) { return *(volatile uint16_t *)(b + off); }
static inline uint32_t r32(volatile uint8_t *b, unsigned off) { return *(volatile uint32_t *)(b + off); }
static void w64(volatile uint8_t *b, unsigned off, uint64_t v)
{
    w32(b, off, (uint32_t)v);
    w32(b, off + 4, (uint32_t)(v >> 32));
}

static void set_status(struct virtio_dev *v, uint8_t s)
{
    if (v->modern)
        w8(v->common, C_STATUS, s);
    else
        outb((uint16_t)(v->io + L_STATUS), s);
}

static uint8_t get_status(struct virtio_dev *v)
{
    return v->modern ? r8(v->common, C_STATUS) : inb((uint16_t)(v->io + L_STATUS));
}

/* The modern capabilities (vendor-specific, id 9): where each structure lives. */
static int find_modern(struct virtio_dev *v)
{
    struct pci_dev *d = v->pci;
    for (uint8_t c = pci_cap_next(d, 0x09, 0); c; c = pci_cap_next(d, 0x09, c)) {
        uint8_t type = pci_read8(d, c + 3), bar = pci_read8(d, c + 4);
        uint32_t off = pci_read32(d, c + 8), len = pci_read32(d, c + 12);
        volatile uint8_t *p = pci_bar_ptr(d, bar, off, len);
        if (!p)
            continue;
        if (type == 1 && !v->common)
            v->common = p;
        else if (type == 2 && !v->notify) {
            v->notify = p;
            v->notify_mult = pci_read32(d, c + 16);
        } else if (type == 3 && !v->isr)
            v->isr = p;
        else if (type == 4 && !v->devcfg)
            v->devcfg = p;
    }
    return v->common && v->notify && v->isr ? 0 : -1;
}

int virtio_open(struct virtio_dev *v, struct pci_dev *d, const char *name)
{
    memset(v, 0, sizeof *v);
    v->pci = d;
    /* Bus mastering, memory and I/O decoding on. */
    pci_write16(d, 0x04, pci_read16(d, 0x04) | 0x7);
    if (find_modern(v) == 0) {
        v->modern = true;
    } else if (d->bar_io[0] && d->bar[0]) {
        v->io = (uint16_t)d->bar[0];
    } else {
        ebb_warn("%s: %02x:%02x.%x has neither the modern virtio capabilities nor a legacy I/O BAR",
               name, d->bus, d->slot, d->fn);
        return -1;
    }
    set_status(v, 0);
    for (int i = 0; i < 1000 && get_status(v) != 0; i++) /* a modern reset may take a moment */
        ebb_cpu_relax();
    v->msix = pci_msix_enable(d) == 0;
    set_status(v, ST_ACK);
    set_status(v, ST_ACK | ST_DRIVER);
    if (v->modern) {
        w32(v->common, C_DFSELECT, 0);
        uint64_t lo = r32(v->common, C_DF);
        w32(v->common, C_DFSELECT, 1);
        v->offered = lo | (uint64_t)r32(v->common, C_DF) << 32;
        w16(v->common, C_MSIX_CONFIG, VIRTIO_NO_VECTOR);
    } else {
        v->offered = inl((uint16_t)(v->io + L_HOST_FEATURES));
        if (v->msix)
            outw((uint16_t)(v->io + L_MSIX_CONFIG), VIRTIO_NO_VECTOR);
    }
    return 0;
}

int virtio_negotiate(struct virtio_dev *v, uint64_t wanted)
{
    if (v->modern)
        wanted |= VIRTIO_F_VERSION_1;
    else
        wanted &= 0xFFFFFFFFull;
    v->features = v->offered & wanted;
    if (!v->modern) {
        outl((uint16_t)(v->io + L_GUEST_FEATURES), (uint32_t)v->features);
        return 0;
    }
    if (!(v->features & VIRTIO_F_VERSION_1))
        return -1;
    w32(v->common, C_GFSELECT, 0);
    w32(v->common, C_GF, (uint32_t)v->features);
    w32(v->common, C_GFSELECT, 1);
    w32(v->common, C_GF, (uint32_t)(v->features >> 32));
    set_status(v, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    return get_status(v) & ST_FEATURES_OK ? 0 : -1;
}

void virtio_driver_ok(struct virtio_dev *v)
{
    set_status(v, ST_ACK | ST_DRIVER | ST_DRIVER_OK | (v->modern ? ST_FEATURES_OK : 0));
}

void virtio_fail(struct virtio_dev *v) { set_status(v, get_status(v) | ST_FAILED); }

uint8_t virtio_isr(struct virtio_dev *v)
{
    return v->modern ? r8(v->isr, 0) : inb((uint16_t)(v->io + L_ISR));
}

/* Legacy device configuration follows the MSI-X registers only while MSI-X is on. */
static uint16_t legacy_cfg(struct virtio_dev *v) { return (uint16_t)(v->io + (v->msix ? 0x18 : 0x14)); }

uint8_t virtio_cfg8(struct virtio_dev *v, unsigned off)
{
    if (v->modern)
        return v->devcfg ? r8(v->devcfg, off) : 0;
    return inb((uint16_t)(legacy_cfg(v) + off));
}

uint16_t virtio_cfg16(struct virtio_dev *v, unsigned off)
{
    if (v->modern)
        return v->devcfg ? r16(v->devcfg, off) : 0;
    return inw((uint16_t)(legacy_cfg(v) + off));
}

static size_t ring_bytes(unsigned n, size_t *avail_off, size_t *used_off)
{
    *avail_off = 16ul * n;
    size_t avail_end = *avail_off + 6 + 2ul * n;
    *used_off = (avail_end + LEGACY_ALIGN - 1) & ~(size_t)(LEGACY_ALIGN - 1);
    return *used_off + 6 + 8ul * n;
}

int virtq_init(struct virtio_dev *v, struct virtq *q, unsigned index, unsigned max_size,
               unsigned msix_entry)
{
    memset(q, 0, sizeof *q);
    q->dev = v;
    q->index = (uint16_t)index;
    unsigned n;
    if (v->modern) {
        if (index >= r16(v->common, C_NUM_QUEUES))
            return -1;
        w16(v->common, C_Q_SELECT, (uint16_t)index);
        n = r16(v->common, C_Q_SIZE);
        /* Modern devices let us take fewer entries (a power of two). */
        while (n > max_size && n > 1)
            n >>= 1;
    } else {
        outw((uint16_t)(v->io + L_Q_SELECT), (uint16_t)index);
        n = inw((uint16_t)(v->io + L_Q_SIZE)); /* legacy: the device's size, take it or leave */
    }
    if (n == 0 || n > 32768 || (n & (n - 1)))
        return -1;
    size_t avail_off, used_off, bytes = ring_bytes(n, &avail_off, &used_off);
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    uint8_t *mem = mem_pages_alloc(0, order);
    q->cookie = calloc(n, sizeof *q->cookie);
    if (!mem || !q->cookie) {
        if (mem)
            mem_pages_free(mem, order);
        free(q->cookie);
        return -1;
    }
    memset(mem, 0, PAGE_SIZE << order);
    q->size = (uint16_t)n;
    q->desc = (struct vring_desc *)mem;
    q->avail = (struct vring_avail *)(mem + avail_off);
    q->used = (struct vring_used *)(mem + used_off);
    for (unsigned i = 0; i < n; i++)
        q->desc[i].next = (uint16_t)(i + 1);
    q->num_free = (uint16_t)n;
    q->event_idx = v->features & VIRTIO_F_RING_EVENT_IDX;
    uint64_t pa = native_virt_to_phys(mem);
    if (v->modern) {
        w16(v->common, C_Q_SIZE, (uint16_t)n);
        w64(v->common, C_Q_DESC, pa);
        w64(v->common, C_Q_DRIVER, pa + avail_off);
        w64(v->common, C_Q_DEVICE, pa + used_off);
        if (v->msix) {
            w16(v->common, C_Q_MSIX, (uint16_t)msix_entry);
            if (r16(v->common, C_Q_MSIX) != (uint16_t)msix_entry)
                return -1;
        }
        q->notify_mmio = (volatile uint16_t *)(v->notify + r16(v->common, C_Q_NOTIFY_OFF) * v->notify_mult);
        w16(v->common, C_Q_ENABLE, 1);
    } else {
        if (v->msix) {
            outw((uint16_t)(v->io + L_Q_MSIX), (uint16_t)msix_entry);
            if (inw((uint16_t)(v->io + L_Q_MSIX)) != (uint16_t)msix_entry)
                return -1;
        }
        outl((uint16_t)(v->io + L_Q_PFN), (uint32_t)(pa >> 12));
    }
    return 0;
}

int virtq_add(struct virtq *q, const struct virtq_seg *segs, unsigned n_out, unsigned n_in, void *cookie)
{
    unsigned n = n_out + n_in;
    if (n == 0 || n > q->num_free)
        return -1;
    uint16_t head = q->free_head, i = head, last = head;
    for (unsigned k = 0; k < n; k++) {
        struct vring_desc *d = &q->desc[i];
        d->addr = segs[k].addr;
        d->len = segs[k].len;
        d->flags = (uint16_t)((k < n_out ? 0 : VRING_DESC_F_WRITE) | (k + 1 < n ? VRING_DESC_F_NEXT : 0));
        last = i;
        i = d->next;
    }
    q->free_head = q->desc[last].next;
    q->num_free = (uint16_t)(q->num_free - n);
    q->cookie[head] = cookie;
    q->avail->ring[q->avail_idx & (q->size - 1)] = head;
    q->avail_idx++;
    return 0;
}

void virtq_kick(struct virtq *q)
{
    barrier(); /* the ring entries before the index */
    uint16_t old = q->kicked_idx, now = q->avail_idx;
    __atomic_store_n(&q->avail->idx, now, __ATOMIC_RELEASE);
    mb(); /* the index before reading whether the device wants a notification */
    bool need;
    if (q->event_idx) {
        uint16_t ev = __atomic_load_n((uint16_t *)&q->used->ring[q->size], __ATOMIC_ACQUIRE);
        need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        need = !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY);
    }
    q->kicked_idx = now;
    if (need && now != old)
        virtq_notify(q);
}

bool virtq_has_used(const struct virtq *q)
{
    return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

void *virtq_get(struct virtq *q, uint32_t *len)
{
    if (!virtq_has_used(q))
        return NULL;
    struct vring_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
    uint32_t id = e->id;
    *len = e->len;
    q->last_used++;
    if (id >= q->size)
        return NULL; /* a broken device: nothing we can safely free */
    void *cookie = q->cookie[id];
    q->cookie[id] = NULL;
    /* Return the chain to the free list. */
    uint16_t i = (uint16_t)id, n = 1;
    while (q->desc[i].flags & VRING_DESC_F_NEXT && n < q->size) {
        i = q->desc[i].next;
        n++;
    }
    q->desc[i].next = q->free_head;
    q->free_head = (uint16_t)id;
    q->num_free = (uint16_t)(q->num_free + n);
    return cookie;
}

static uint16_t *used_event(struct virtq *q) { return &q->avail->ring[q->size]; }

bool virtq_irq_on(struct virtq *q)
{
    q->avail->flags = 0;
    if (q->event_idx)
        __atomic_store_n(used_event(q), q->last_used, __ATOMIC_RELAXED);
    mb(); /* the flag before looking at what the device may have used meanwhile */
    return virtq_has_used(q);
}

void virtq_irq_off(struct virtq *q)
{
    q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    if (q->event_idx) /* an index already passed: no interrupt until it wraps */
        __atomic_store_n(used_event(q), (uint16_t)(q->last_used - 1), __ATOMIC_RELAXED);
}

uint16_t virtq_used_idx(const struct virtq *q) { return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE); }

void virtq_notify(struct virtq *q)
{
    q->kicks++;
    if (q->dev->modern)
        *q->notify_mmio = q->index;
    else
        outw((uint16_t)(q->dev->io + L_Q_NOTIFY), q->index);
}

int virtq_format(const struct virtq *q, char *buf, size_t len)
{
    return snprintf(buf, len, "avail=%u used=%u taken=%u free=%u kicks=%llu", q->avail_idx,
                    virtq_used_idx(q), q->last_used, q->num_free, (unsigned long long)q->kicks);
}
