#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) s {
    int (*get)(int x);
};
// expect: 5:20: error: first parameter of method 'get' must be the rep pointer (self)
