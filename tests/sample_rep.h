/* A rep of struct sample (tests/gen/sample.ebb.h) for the Messenger tests. */
#pragma once
#include "tests/gen/sample.gen.h"

struct srep {
    const struct sample *ops;
    uint64_t put_sum;   /* checksum of the last put's key and values */
};
extern struct ebb_root sample_root;
uint64_t sample_checksum(const uint8_t *p, size_t n);
/* What get and scale compute, for checking results. */
size_t sample_get_local(const char *name, uint8_t *buf, size_t cap);
void sample_scale_local(int64_t *v, unsigned n, struct point p, enum color c);
