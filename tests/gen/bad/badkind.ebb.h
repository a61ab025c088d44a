#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(per_socket) k {
    int (*get)(void *self);
};
// expect: 4:34: error: interface 'k': kind 'per_socket' is not shared, per_core or per_node
