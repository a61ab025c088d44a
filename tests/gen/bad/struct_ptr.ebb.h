#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct blob { int n; char *p; };
struct EBB_INTERFACE(shared) s {
    int (*put)(void *self, struct blob b) EBB_REMOTE;
};
// expect: 6:40: error: parameter 'b' of remote method 'put': ebbgen cannot copy struct blob by value
