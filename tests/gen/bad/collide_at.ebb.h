#include <stdint.h>
#include "core/ebb_annot.h"

struct EBB_INTERFACE(shared) kv {
    int (*put)(void *self, uint32_t k) EBB_REMOTE;
    int (*put_at)(void *self, uint32_t k);
};
// expect: 6:11: error: the call wrapper of method 'put_at' of interface 'kv' would be generated as 'kv_put_at', which is already the remote stub of method 'put' of interface 'kv' (line 5)
