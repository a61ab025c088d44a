#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) u {
    int (*put)(void *self, int);
};
// expect: 5:31: error: parameter 1 of method 'put' has no name
