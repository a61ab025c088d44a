/* Native: one address space, ring 0. Every core sees its own translation table and per-core
 * header at the same fixed virtual addresses (each core's page tables map distinct physical pages
 * there, see mm.c), so a slot load is one instruction with an absolute 32-bit address. */
#pragma once
#include <stdint.h>

/* Placed by platform/native/link.ld in the top 2 GiB, where -mcmodel=kernel reaches them with a
 * sign-extended 32-bit displacement. */
extern void *ebb_native_ltt[1u << 16];
extern struct ebb_native_pcpu_hdr { unsigned core; } ebb_native_pcpu;
#define EBB_LTT ebb_native_ltt

static inline unsigned ebb_core(void) { return ebb_native_pcpu.core; }
static inline void ebb_cpu_relax(void) { __builtin_ia32_pause(); }
