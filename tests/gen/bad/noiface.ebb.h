#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
struct plain { int (*f)(void *self); };
// expect: 1:1: error: no interface: mark a struct with EBB_INTERFACE(kind)
