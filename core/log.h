/* The one log facility of the runtime, the stack and the Messenger: a formatted line each, written
 * whole to the console (stderr hosted, serial native), shown from the level the configuration's
 * log=debug|info|warn asks for. The default is warn: a quiet program prints only what needs a
 * person's attention. Bad input from a peer is counted, and at most logged at debug level. */
#pragma once
#include <stdbool.h>

enum ebb_log_level { EBB_LOG_DEBUG, EBB_LOG_INFO, EBB_LOG_WARN };

__attribute__((format(printf, 2, 3))) void ebb_log_at(enum ebb_log_level level, const char *fmt, ...);
void ebb_vlog(const char *fmt, __builtin_va_list ap);  /* always written */
/* Whether a line of this level is shown (to skip building an expensive message). */
bool ebb_log_on(enum ebb_log_level level);
/* Checks the configuration's log= value: 0, or -1 after printing what is wrong. */
int ebb_log_configure(void);

#define ebb_debug(...) ebb_log_at(EBB_LOG_DEBUG, __VA_ARGS__)  /* not news by itself */
#define ebb_info(...) ebb_log_at(EBB_LOG_INFO, __VA_ARGS__)    /* what the system is doing */
#define ebb_warn(...) ebb_log_at(EBB_LOG_WARN, __VA_ARGS__)    /* something is wrong */
#define ebb_log(...) ebb_warn(__VA_ARGS__)
