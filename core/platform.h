/* The platform contract: every hook a platform (platform/hosted, platform/native) supplies to the
 * platform-independent layers (core/, mem/, net/). None has a default, so a platform that lacks
 * one fails to link, never at run time. The inline part of the contract is the platform's
 * include/ebb_platform.h (EBB_LTT: the address of this core's translation table; ebb_core();
 * ebb_cpu_relax()), included here. core/, mem/ and net/ include no other platform header.
 *
 * Start-up (core/start.c) is the same everywhere: the platform brings the machine up and calls
 * main(), whose default is ebb_run(): configuration, platform_cores_start(), core 0's loop on the
 * calling thread, platform_cores_join(). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ebb_platform.h"

/* Time. */
uint64_t platform_now_ns(void);  /* monotonic */

/* Cores. */
unsigned platform_cpus(void);       /* cores= default: the CPUs there are */
unsigned platform_cores_max(void);  /* the most cores= may ask for */
/* Brings up cores 1..ncores-1; each runs ebb_core_run(its number) and then stops. Returns 0, or
 * -1 after printing why. */
int platform_cores_start(unsigned ncores);
/* After core 0's loop ended: waits (bounded) for the others and frees what start made. */
void platform_cores_join(unsigned ncores);
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

/* Console and the end of the program. */
void platform_console_write(const char *s, size_t n);  /* stderr hosted, serial native */
__attribute__((noreturn)) void platform_abort(void);

/* Ends the whole program at once with `code` (bad configuration, fatal errors). */
__attribute__((noreturn)) void platform_halt(int code);

/* Randomness. Fills buf with unpredictable bytes (ISNs, nonces, SYN-cookie secrets, hash keys):
 * getrandom() hosted, RDRAND native. Never fails: a native machine without a source stops at
 * boot with a message saying so, before anything could use it. */
void ebb_random(void *buf, size_t n);
/* Reads a secret (the Messenger's cluster key) from path into buf: its length, or -errno.
 * Hosted: a file, -EPERM if other users can read it. Native: the QEMU fw_cfg file named path
 * (-fw_cfg name=opt/ebbrt/key,file=F), -ENOENT if there is none. */
int platform_read_key(const char *path, void *buf, size_t cap);
static inline uint64_t ebb_random_u64(void)
{
    uint64_t v;
    ebb_random(&v, sizeof v);
    return v;
}

/* Memory (mem/). */
/* Adds memory to a node that ran dry (mem_add_range; hosted: an mmap'd arena; native: the next
 * part of RAM). Returns 0 if it added at least `bytes`, -1 otherwise. */
int mem_platform_grow(unsigned node, size_t bytes);
/* Gives the memory of free pages back (hosted: madvise(MADV_DONTNEED), so RSS shrinks after
 * large frees); they read as zero afterwards. May do nothing. */
void mem_platform_release(void *p, size_t len);
/* The window of virtual addresses the vmem allocator hands out: 0, or -1 when there is none. */
int mem_platform_vwindow(uintptr_t *start, size_t *len);
int mem_platform_map(uintptr_t va, size_t len);  /* zeroed, read-write */
void mem_platform_unmap(uintptr_t va, size_t len);
/* Makes sure faults in the window reach vmem_fault() (hosted: SIGSEGV; native: nothing to do). */
void mem_platform_fault_hook(void);
/* The calling core's general-purpose allocator rep (hosted: one per Linux thread, so threads
 * the runtime did not start may allocate too; native: one per core). */
struct gp;
struct gp *gp_self(void);

/* What the runtime gives a platform. */
/* One core's share of the runtime: its loop until ebb_exit() (core 0 also starts app_main). */
void ebb_core_run(unsigned core);
/* The cores and NUMA nodes in use (set by ebb_run). */
void ebb_topology_set(unsigned ncores, unsigned numa_nodes);
int ebb_exit_code(void);
