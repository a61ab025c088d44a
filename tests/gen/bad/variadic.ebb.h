#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) v {
    int (*log)(void *self, const char *fmt, ...);
};
// expect: 5:11: error: method 'log' is variadic
