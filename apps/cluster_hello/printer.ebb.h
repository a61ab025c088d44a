/* cluster_hello's printer: served by the front end; on a native node the first call on each core
 * faults, looks the printer's id up in the GlobalIdMap (where the front end registered its node)
 * and builds a rep that forwards to that node (printer.c). */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"

/* A static id: the same Ebb on every node (the manifest binds it to printer_root). */
#define EBB_ID_PRINTER EBB_ID(0, 66)

struct EBB_INTERFACE(per_core) printer {
    /* Prints "hello from node NODE core CORE" on the front end. 0 or -errno. */
    int32_t (*hello)(void *self, uint32_t node, uint32_t core) EBB_REMOTE;
};
