/* The interface the call-cost benchmark (ebbcall.c) calls through ebbgen's generated wrapper. */
#pragma once
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"

struct EBB_INTERFACE(shared) adder {
    uint64_t (*add)(void *self, uint64_t x);
};
