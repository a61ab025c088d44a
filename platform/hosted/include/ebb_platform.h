/* Hosted: a core is a pinned Linux thread. Its translation table (a slot for each of the 2^32
 * ids, 32 GiB of address space reserved with MAP_NORESERVE: Linux backs only the pages touched)
 * is at the thread's %gs base, so the slot load is one %gs-relative instruction, as a
 * local-exec TLS access would be (glibc leaves %gs to the program on x86_64). */
#pragma once
#include <stdint.h>

extern __thread unsigned ebb_core_id __attribute__((tls_model("local-exec")));
/* The same table through a pointer, for code built with a sanitizer: gcc 12's AddressSanitizer
 * checks a %gs-relative access as if it were an ordinary address, and UBSan would call the
 * table's address 0 a null pointer. */
extern __thread void **ebb_ltt_base __attribute__((tls_model("local-exec")));
#if defined(__SANITIZE_ADDRESS__)
#define EBB_LTT ebb_ltt_base
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define EBB_LTT ebb_ltt_base
#endif
#endif
#ifndef EBB_LTT
#define EBB_LTT ((void *__seg_gs *)0)
#endif

static inline unsigned ebb_core(void) { return ebb_core_id; }
static inline void ebb_cpu_relax(void) { __builtin_ia32_pause(); }
