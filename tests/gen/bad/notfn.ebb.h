#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) f {
    int count;
};
// expect: 5:9: error: member 'count' of interface 'f' is not a function pointer
