/* Randomness and secrets on Linux (core/platform.h): ebb_random is the kernel's CSPRNG;
 * platform_read_key reads a key file that only its owner may read. */
#include "core/platform.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
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

int platform_read_key(const char *path, void *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || (st.st_mode & 077)) { /* like ssh: a key others can read is none */
        close(fd);
        return -EPERM;
    }
    ssize_t n = read(fd, buf, cap);
    int err = n < 0 ? -errno : 0;
    close(fd);
    return n < 0 ? err : (int)n;
}
