/* ebb_random (core/platform.h) natively: RDRAND, checked at boot (native_random_init) so that a
 * machine without it stops with a clear message before the first ISN, nonce or key is drawn.
 * Under TCG RDRAND needs `-cpu max` or `-cpu qemu64,+rdrand` (scripts/qemu-run passes it). */
#include "core/platform.h"
#include <string.h>

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
    if (!(c & (1u << 30)) || rdrand64(&v) < 0)
        no_source("native: no source of randomness: this CPU has no RDRAND (QEMU: -cpu max or "
                  "-cpu qemu64,+rdrand; scripts/qemu-run passes it)\n");
}

void ebb_random(void *buf, size_t n)
{
    uint8_t *p = buf;
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
