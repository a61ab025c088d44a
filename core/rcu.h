/* Read-copy-update: objects read without locks are freed only after a grace period. */
#pragma once
#include "core/event.h"

/* Runs fn(arg) on this core once every core has finished the events running now: after that no
 * lock-free reader can still hold what was unlinked before the call. */
void ebb_rcu_defer(ebb_fn fn, void *arg);
/* The same, and first each(arg) once on every core (this one at once, the others as an event):
 * for state each core keeps a copy of, such as its translation table's slot for an Ebb id. */
void ebb_rcu_each(ebb_fn each, ebb_fn fn, void *arg);
