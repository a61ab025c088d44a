/* Native: one address space, ring 0. Every core's %gs base is the address of its translation
 * table (a slot for each of the 2^32 ids: 32 GiB of address space, the same virtual address on
 * every core, distinct pages behind it, each mapped on first touch: see mm.c), so a slot load is
 * one %gs-relative instruction; the per-core header is at a fixed virtual address. */
#pragma once
#include <stdint.h>

/* Placed by platform/native/link.ld in the top 2 GiB, where -mcmodel=kernel reaches it with a
 * sign-extended 32-bit displacement. */
extern struct ebb_native_pcpu_hdr { unsigned core; } ebb_native_pcpu;
#define EBB_LTT ((void *__seg_gs *)0)

static inline unsigned ebb_core(void) { return ebb_native_pcpu.core; }
static inline void ebb_cpu_relax(void) { __builtin_ia32_pause(); }
