#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
typedef int put_fn(void *self, int x);
struct EBB_INTERFACE(shared) t {
    put_fn *put;
};
// expect: 6:13: error: method 'put' is declared through a typedef'd function type
