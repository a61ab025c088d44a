#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) a {
    int (*sum)(void *self, int v[4]) EBB_REMOTE;
};
// expect: 5:32: error: parameter 'v' of remote method 'sum' is an array
