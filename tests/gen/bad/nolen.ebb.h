#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) n {
    int (*put)(void *self, const char *key) EBB_REMOTE;
};
// expect: 5:40: error: pointer parameter 'key' of remote method 'put' needs EBB_IN(len)
