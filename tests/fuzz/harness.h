/* libFuzzer targets over the real runtime (tests/fuzz/harness.c): each input runs as part of an
 * event on core 0 of a one-core hosted runtime, so a target may block. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Each target defines these: fuzz_init once before the first input, fuzz_one per input. */
void fuzz_init(void);
int fuzz_one(const uint8_t *data, size_t n);

/* Lets the event loop run what the input caused (spawned events, deferred ACKs) and the timers
 * that are due. */
void fuzz_settle(void);
/* Moves this process's clock forward (the runtime's timers see it at once). */
void fuzz_advance_ns(uint64_t ns);

/* Reads the input front to back; past the end every read gives 0. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};
static inline uint8_t fin_u8(struct fuzz_in *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}
static inline uint16_t fin_u16(struct fuzz_in *f) { return (uint16_t)(fin_u8(f) | fin_u8(f) << 8); }
static inline uint32_t fin_u32(struct fuzz_in *f) { return fin_u16(f) | (uint32_t)fin_u16(f) << 16; }
/* Up to want bytes of the input (fewer at its end). */
static inline size_t fin_take(struct fuzz_in *f, size_t want, const uint8_t **out)
{
    size_t k = want < f->n ? want : f->n;
    *out = f->p;
    f->p += k;
    f->n -= k;
    return k;
}
