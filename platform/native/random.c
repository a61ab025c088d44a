/* ebb_random (core/platform.h) natively: RDRAND, or where the CPU lacks it a virtio-rng device.
 * The source is chosen at boot (native_random_init), so that a machine with neither stops with a
 * clear message before the first ISN, nonce or key is drawn. Under TCG RDRAND needs `-cpu max`
 * or `-cpu qemu64,+rdrand` (scripts/qemu-run passes it); `-device virtio-rng-pci` adds the
 * device. */
#include "core/platform.h"
#include "core/spinlock.h"
#include "ebb_native.h"
#include "virtio_rng.h"
#include <stdbool.h>
#include <string.h>

static bool use_rdrand;
/* virtio-rng: a device round trip per 256 bytes, not per ISN. Each byte is handed out once
 * and wiped. */
static int pool_lock;
static uint8_t pool[256];
static size_t pool_left;

static int rdrand64(uint64_t *v)
{
    unsigned char ok;
    /* The DRNG may be briefly exhausted: Intel's guidance is ten retries. */
    for (int i = 0; i < 10; i++) {
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
        if (ok)
            return 0;
    }
    return -1;
}

static void no_source(const char *why)
{
    platform_console_write(why, strlen(why));
    platform_halt(3);
}

void native_random_init(void)
{
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    uint64_t v;
    use_rdrand = (c & (1u << 30)) && rdrand64(&v) == 0;
    if (!use_rdrand && !virtio_rng_present())
        no_source("native: no source of randomness: this CPU has no RDRAND and there is no "
                  "virtio-rng device (QEMU: -cpu max or -cpu qemu64,+rdrand, which "
                  "scripts/qemu-run passes, or -device virtio-rng-pci)\n");
}

const char *ebb_native_random_source(void) { return use_rdrand ? "RDRAND" : "virtio-rng"; }

static void from_device(uint8_t *p, size_t n)
{
    spin_lock(&pool_lock);
    while (n) {
        if (!pool_left) {
            if (virtio_rng_read(pool, sizeof pool) < 0)
                no_source("native: the virtio-rng device failed or stopped answering\n");
            pool_left = sizeof pool;
        }
        uint8_t *from = pool + sizeof pool - pool_left;
        size_t k = n < pool_left ? n : pool_left;
        memcpy(p, from, k);
        memset(from, 0, k);
        pool_left -= k;
        p += k;
        n -= k;
    }
    spin_unlock(&pool_lock);
}

void ebb_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    if (!use_rdrand) {
        from_device(p, n);
        return;
    }
    while (n) {
        uint64_t v;
        if (rdrand64(&v) < 0)
            no_source("native: RDRAND keeps failing\n");
        size_t k = n < sizeof v ? n : sizeof v;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}
