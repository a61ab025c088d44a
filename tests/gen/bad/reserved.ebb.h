#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) r {
    int (*get)(void *self, int ebb_id);
};
// expect: 5:32: error: parameter name 'ebb_id': names starting with ebb_ are reserved
