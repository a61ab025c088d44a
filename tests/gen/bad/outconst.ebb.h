#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct EBB_INTERFACE(shared) o {
    void (*get)(void *self, const char *EBB_OUT(n) buf, size_t n) EBB_REMOTE;
};
// expect: 5:52: error: EBB_OUT parameter 'buf' points to const
