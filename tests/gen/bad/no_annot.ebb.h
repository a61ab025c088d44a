#include <stdint.h>

struct EBB_INTERFACE(shared) kv {
    int (*get)(void *self) EBB_REMOTE;
};
// expect: 3:8: error: EBB_INTERFACE is not defined: include "core/ebb_annot.h"
