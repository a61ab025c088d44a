/* Console messages: one formatted line each, written whole (stderr hosted, serial native). */
#include "core/ebb.h"
#include "core/platform.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/config.h"

void ebb_vlog(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    platform_console_write(buf, (size_t)n);
}

void ebb_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ebb_vlog(fmt, ap);
    va_end(ap);
}

void ebb_log_debug(const char *fmt, ...)
{
    const char *level = ebb_config_get("log");
    if (!level || strcmp(level, "debug"))
        return;
    va_list ap;
    va_start(ap, fmt);
    ebb_vlog(fmt, ap);
    va_end(ap);
}

void ebb_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ebb_vlog(fmt, ap);
    va_end(ap);
    platform_abort();
}
