/* Hosted: a core is a pinned Linux thread; its translation table is a thread-local array, so the
 * slot load is one %fs-relative instruction (local-exec TLS: the library links into executables). */
#pragma once
#include <stdint.h>

extern __thread void *ebb_ltt[1u << 16] __attribute__((tls_model("local-exec")));
extern __thread unsigned ebb_core_id __attribute__((tls_model("local-exec")));
#define EBB_LTT ebb_ltt

static inline unsigned ebb_core(void) { return ebb_core_id; }
static inline void ebb_cpu_relax(void) { __builtin_ia32_pause(); }
