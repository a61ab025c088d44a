/* Until core/ebb_annot.h (ebbgen's annotations) is on main, the memory interfaces compile with
 * the annotations expanded to nothing. */
#pragma once
#if __has_include("core/ebb_annot.h")
#include "core/ebb_annot.h"
#else
#define EBB_INTERFACE(kind)
#endif
