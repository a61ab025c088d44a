/* What core/ needs from a platform (platform/hosted, platform/native). */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint64_t platform_now_ns(void);
/* Sleeps this core until a wake-up, an fd/interrupt event or `deadline_ns` (UINT64_MAX: none).
 * Returns early if platform_wake(this core) was called after the loop announced it sleeps. */
void platform_wait(uint64_t deadline_ns);
/* Polls for ready fds / pending interrupts without sleeping; returns how many were handled. */
int platform_poll(void);
void platform_wake(unsigned core);
/* Stacks for contexts (with a guard page where the platform can). */
void *platform_stack_alloc(size_t size);
void platform_stack_free(void *base, size_t size);
/* Called on ebb_exit() on the core that exits. */
void platform_exit(int code);
__attribute__((noreturn)) void platform_abort(void);
/* Fills buf with unpredictable bytes (ISNs, nonces, SYN-cookie secrets, hash keys): getrandom()
 * hosted, RDRAND native. Never fails: a native machine without a source stops at boot with a
 * message saying so, before anything could use it. */
void ebb_random(void *buf, size_t n);
static inline uint64_t ebb_random_u64(void)
{
    uint64_t v;
    ebb_random(&v, sizeof v);
    return v;
}
/* Writes to the console (stderr hosted, serial native). */
void platform_console_write(const char *s, size_t n);
/* Set by the platform before the cores start. */
void ebb_topology_set(unsigned ncores, unsigned numa_nodes);
/* For platforms: the code given to ebb_exit(), and freeing a stopped core's loop state. */
int ebb_exit_code(void);
void ebb_event_core_cleanup(void);
/* Ends the whole program at once with `code` (bad configuration, fatal errors). */
__attribute__((noreturn)) void platform_halt(int code);
