/* The hello Ebb: its interface, from which ebbgen generates hello.gen.h (the call wrapper
 * hello_say(), HELLO_IFACE, HELLO_ROOT(), ...). See docs/ebbgen.md. */
#pragma once
#include "core/ebb.h"
#include "core/ebb_annot.h"

/* A static id: this app's manifest (ebb.manifest) binds it to hello_root. */
#define EBB_ID_HELLO EBB_ID(0, 64)

struct EBB_INTERFACE(per_core) hello {
    /* Prints which core's rep answered. */
    void (*say)(void *self);
};
