/* COM1 (16550 at 0x3f8): the console. Output is polled; a lock keeps each write whole when
 * several cores print. A fault on a core that holds the lock must still be able to print, so the
 * fault path waits only a bounded time for it (console_write_unlocked). */
#include <stdarg.h>
#include <stdio.h>
#include "core/platform.h"
#include "core/spinlock.h"
#include "native.h"

#define COM1 0x3f8

static int console_lock;

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* The transmitter is ready at once under QEMU; bound the wait for real UARTs. */
        for (int spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
            ebb_cpu_relax();
        outb(COM1, (uint8_t)s[i]);
    }
}

void platform_console_write(const char *s, size_t n)
{
    spin_lock(&console_lock);
    serial_write(s, n);
    spin_unlock(&console_lock);
}

void console_write_unlocked(const char *s, size_t n)
{
    for (int i = 0; i < 1000000 && __atomic_load_n(&console_lock, __ATOMIC_RELAXED); i++)
        ebb_cpu_relax();
    serial_write(s, n);
}

/* For the fault path: formats on the stack and writes without waiting for the lock forever. */
int kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_write_unlocked(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
    return n;
}
