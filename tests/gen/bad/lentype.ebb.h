#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) b {
    int (*put)(void *self, const void *EBB_IN(n) p, double n) EBB_REMOTE;
};
// expect: 5:50: error: length 'n' of parameter 'p' is not an integer parameter
