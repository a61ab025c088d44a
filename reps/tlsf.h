/* A TLSF allocator (Two-Level Segregated Fit, Masmano et al. 2004) as an alternative rep of the
 * malloc Ebb: O(1) malloc and free with bounded fragmentation, one heap shared by all cores
 * behind a lock. Its memory is pools of 64 MiB from the page allocator Ebb. An image uses it by
 * binding EBB_ID_MALLOC to tlsf_root in its manifest (apps/tlsf_demo, docs/allocator.md). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/ebb.h"

extern struct ebb_root tlsf_root;

struct tlsf_stats {
    uint64_t mallocs, frees;   /* calls served */
    size_t bytes_in_use;       /* payload bytes of used blocks */
    size_t pool_bytes;         /* memory taken from the page allocator */
};
void tlsf_get_stats(struct tlsf_stats *st);
/* True if p lies in one of the heap's pools. */
bool tlsf_owns(const void *p);
/* Walks every pool checking the heap's invariants; 0, or -1 with a description in err. */
int tlsf_check(char *err, size_t errlen);
