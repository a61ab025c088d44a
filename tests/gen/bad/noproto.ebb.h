#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) p {
    int (*get)();
};
// expect: 5:11: error: method 'get' has no prototype
