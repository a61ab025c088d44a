#include <stdint.h>
#include "core/ebb_annot.h"

struct EBB_INTERFACE(shared) kv {
    int (*rep)(void *self);
};
// expect: 5:11: error: the call wrapper of method 'rep' of interface 'kv' would be generated as 'kv_rep', which is already the rep accessor of interface 'kv'
