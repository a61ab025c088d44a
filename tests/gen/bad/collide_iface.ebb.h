#include <stdint.h>
#include "core/ebb_annot.h"

struct EBB_INTERFACE(shared) kva {
    int (*put)(void *self, uint32_t k) EBB_REMOTE;
};
struct EBB_INTERFACE(shared) kva_put {
    int (*at)(void *self);
};
// expect: 8:11: error: the call wrapper of method 'at' of interface 'kva_put' would be generated as 'kva_put_at', which is already the remote stub of method 'put' of interface 'kva' (line 5)
