/* A replacement allocator of the application's own: a bump allocator over a static arena that
 * counts what it serves (tests/ebbgen_oot.t). Bound to EBB_ID_MALLOC by app.manifest. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "core/ebb.h"

extern struct ebb_root bump_root;
bool bump_owns(const void *p);
uint64_t bump_mallocs(void);
