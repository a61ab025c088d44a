#include <stdint.h>
#include "core/ebb_annot.h"

#include "no/such/header.h"
struct EBB_INTERFACE(shared) m { int (*get)(void *self); };
// expect: 4:10: fatal error: 'no/such/header.h' file not found
