/* Constructs that once generated broken C (compile test in tests/ebbgen.t, wire test in
 * tests/ebbgen_wire.c): a non-const string, an array parameter of a local method, a struct
 * with padding passed by value. */
#pragma once
#include <stdint.h>
#include "core/ebb_annot.h"
#include "core/future.h"

struct padded {
    uint8_t a;        /* 7 bytes of padding follow */
    uint64_t b;
    struct { uint16_t c; uint32_t d; } in[2];
    char tag[3];
};

struct EBB_INTERFACE(shared) tricky {
    uint64_t (*sum)(void *self, struct padded p) EBB_REMOTE;
    int (*len)(void *self, char *EBB_STRING s) EBB_REMOTE;
    int (*first)(void *self, int m[static 2]);
};
