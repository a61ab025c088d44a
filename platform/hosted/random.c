/* ebb_random (core/platform.h) on Linux: the kernel's CSPRNG. */
#include "core/platform.h"
#include <errno.h>
#include <sys/random.h>

void ebb_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            static const char msg[] = "hosted: getrandom failed: no source of randomness\n";
            platform_console_write(msg, sizeof msg - 1);
            platform_abort();
        }
        p += r;
        n -= (size_t)r;
    }
}
