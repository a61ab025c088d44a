#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) c {
    int (*put)(void *self, no_such_type x);
};
// expect: 5:28: error: unknown type name 'no_such_type'
