#include "core/ebb.h"
#include "core/platform.h"
#include <stdarg.h>
#include <stdio.h>

void ebb_panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > (int)sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    platform_console_write(buf, (size_t)n);
    platform_abort();
}
