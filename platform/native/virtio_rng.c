/* virtio-rng: one request queue; the driver offers a device-writable buffer, the device fills
 * some or all of it with entropy from the host. Used rarely (random.c refills a pool from it), so
 * it polls the used ring instead of taking interrupts. */
#include "virtio_rng.h"
#include "core/platform.h"
#include "native.h"
#include "virtio.h"

#define VIRTIO_VENDOR 0x1AF4
#define RNG_TIMEOUT_NS 5000000000ull /* a host that gives nothing for this long is broken */

static const uint16_t rng_ids[] = { 0x1005, 0x1044 }; /* transitional, modern */
static struct virtio_dev dev;
static struct virtq queue;
static bool opened;

bool virtio_rng_present(void) { return pci_find(VIRTIO_VENDOR, rng_ids, 2, 0) != NULL; }

static int rng_open(void)
{
    struct pci_dev *d = pci_find(VIRTIO_VENDOR, rng_ids, 2, 0);
    if (!d || virtio_open(&dev, d, "virtio-rng") < 0 || virtio_negotiate(&dev, 0) < 0
        || virtq_init(&dev, &queue, 0, 8, VIRTIO_NO_VECTOR) < 0) {
        if (d)
            virtio_fail(&dev);
        return -1;
    }
    virtq_irq_off(&queue);
    virtio_driver_ok(&dev);
    opened = true;
    return 0;
}

int virtio_rng_read(void *buf, size_t n)
{
    if (!opened && rng_open() < 0)
        return -1;
    uint8_t *p = buf;
    uint64_t give_up = platform_now_ns() + RNG_TIMEOUT_NS;
    while (n) {
        struct virtq_seg seg = { native_virt_to_phys(p), (uint32_t)n };
        if (!seg.addr || virtq_add(&queue, &seg, 0, 1, p) < 0)
            return -1;
        virtq_kick(&queue);
        uint32_t len = 0;
        while (!virtq_get(&queue, &len)) {
            if (platform_now_ns() > give_up)
                return -1; /* the descriptor stays the device's: the device is unusable now */
            ebb_cpu_relax();
        }
        len = len < n ? len : (uint32_t)n;
        p += len;
        n -= len;
    }
    return 0;
}
