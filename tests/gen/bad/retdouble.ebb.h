#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) r {
    double (*get)(void *self) EBB_REMOTE;
};
// expect: 5:14: error: remote method 'get' returns double: a remote method returns void, an integer, an enum, bool or ebb_future_t
