#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) b {
    int (*put)(void *self, const void *EBB_IN(size) p, size_t n) EBB_REMOTE;
};
// expect: 5:53: error: length 'size' of parameter 'p' is not a parameter of method 'put'
