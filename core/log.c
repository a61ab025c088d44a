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

__attribute__((format(printf, 1, 2))) static void ebb_vlog_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ebb_vlog(fmt, ap);
    va_end(ap);
}

static const char *const level_names[] = {"debug", "info", "warn"};

/* The configured level; read each time, as the configuration may be parsed again (tests). */
static enum ebb_log_level threshold(void)
{
    const char *v = ebb_config_get("log");
    for (unsigned l = 0; v && l < sizeof level_names / sizeof *level_names; l++)
        if (strcmp(v, level_names[l]) == 0)
            return (enum ebb_log_level)l;
    return EBB_LOG_WARN;
}

bool ebb_log_on(enum ebb_log_level level) { return level >= threshold(); }

int ebb_log_configure(void)
{
    const char *v = ebb_config_get("log");
    if (v && threshold() == EBB_LOG_WARN && strcmp(v, "warn") != 0) {
        ebb_vlog_line("config: log=%s: expected debug, info or warn", v);
        return -1;
    }
    return 0;
}

void ebb_log_at(enum ebb_log_level level, const char *fmt, ...)
{
    if (!ebb_log_on(level))
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
