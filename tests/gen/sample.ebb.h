/* An interface exercising every construct ebbgen accepts (golden and compile tests). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/ebb_annot.h"
#include "core/future.h"

struct point { int32_t x, y; uint8_t tag[4]; };
enum color { RED, GREEN, BLUE };

struct EBB_INTERFACE(per_core) sample {
    /* Local only: anything C allows. */
    void (*reset)(void *self);
    int (*on_event)(void *self, int (*cb)(void *arg, int ev), void *arg);
    /* Remote. */
    ebb_future_t (*later)(void *self, uint64_t delay_ns) EBB_REMOTE; /* served asynchronously */
    uint64_t (*add)(void *self, uint64_t a, int8_t b, bool neg) EBB_REMOTE;
    int (*put)(void *self, const void *EBB_IN(klen) key, size_t klen,
               const uint32_t *EBB_IN(nvals) vals, uint16_t nvals) EBB_REMOTE;
    size_t (*get)(void *self, const char *EBB_STRING name, uint8_t *EBB_OUT(cap) buf, size_t cap) EBB_REMOTE;
    void (*scale)(void *self, int64_t *EBB_INOUT(n) v, unsigned n, struct point p, enum color c) EBB_REMOTE;
    bool (*ping)(void *self) EBB_REMOTE;
};

struct EBB_INTERFACE(shared) tiny {
    int (*get)(void *self);
    int (*(*handler)(void *self, int which))(void *arg, int ev); /* returns a function pointer */
};
