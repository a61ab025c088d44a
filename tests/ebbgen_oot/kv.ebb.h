/* An application's own interfaces, built outside the tree (tests/ebbgen_oot.t): remote methods
 * with every kind of parameter, a struct with padding, a method that returns a future. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"
#include "core/future.h"

#define EBB_ID_KV    EBB_ID(0, 100)
#define EBB_ID_WHERE EBB_ID(0, 101)

struct stamp {
    uint8_t tag;      /* 7 bytes of padding follow */
    uint64_t when;
    uint16_t len;     /* and 6 more */
};

struct EBB_INTERFACE(shared) kv {
    /* Stores val under key (0..63, up to 64 bytes); returns its length. */
    int (*put)(void *self, uint32_t key, const void *EBB_IN(len) val, size_t len,
               struct stamp st, bool replace) EBB_REMOTE;
    size_t (*get)(void *self, uint32_t key, char *EBB_OUT(cap) buf, size_t cap) EBB_REMOTE;
    void (*twice)(void *self, int32_t *EBB_INOUT(n) v, uint32_t n) EBB_REMOTE;
    size_t (*name_len)(void *self, const char *EBB_STRING name) EBB_REMOTE;
    uint64_t (*stamp_sum)(void *self, struct stamp st) EBB_REMOTE;
    /* Completes with key * 1000 + the length put under key, once a put of key comes, or fails
     * with ETIMEDOUT after ms. */
    ebb_future_t (*wait_for)(void *self, uint32_t key, uint32_t ms) EBB_REMOTE;
    /* Ends the serving node's program with code, after replying. */
    void (*stop)(void *self, int32_t code) EBB_REMOTE;
};

/* Per core: says which core's rep served the call. */
struct EBB_INTERFACE(per_core) where {
    uint32_t (*core)(void *self) EBB_REMOTE;
};

extern struct ebb_root kv_root, where_root;
