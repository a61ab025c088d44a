#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
union u { int i; float f; };
struct EBB_INTERFACE(shared) s {
    int (*put)(void *self, union u v) EBB_REMOTE;
};
// expect: 6:36: error: parameter 'v' of remote method 'put': ebbgen cannot copy union u by value: 'union u' is a union
