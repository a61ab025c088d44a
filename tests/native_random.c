/* ebb_random() natively, from whichever source the machine has (tests/native_random.t boots it
 * with RDRAND, and without RDRAND but with a virtio-rng device): bytes of every draw size look
 * uniform, draws differ, and two cores drawing at once both get fresh bytes. */
#include <stdint.h>
#include "core/ebb.h"
#include "core/event.h"
#include "ebb_native.h"
#include "tap.h"

#define TOTAL 65536

static uint8_t bytes[TOTAL];
static uint8_t first[2][32];
static int drawn;

/* Draws in sizes that do not divide a 256-byte pool, so refills split draws. */
static void draw(uint8_t *p, size_t n)
{
    static const size_t sizes[] = { 1, 7, 8, 100, 333, 4096 };
    for (unsigned i = 0; n; i++) {
        size_t k = sizes[i % 6] < n ? sizes[i % 6] : n;
        ebb_random(p, k);
        p += k;
        n -= k;
    }
}

static void draw_on_core(void *arg)
{
    size_t c = (size_t)(uintptr_t)arg;
    draw(bytes + c * (TOTAL / 2), TOTAL / 2);
    memcpy(first[c], bytes + c * (TOTAL / 2), sizeof first[c]);
    __atomic_add_fetch(&drawn, 1, __ATOMIC_SEQ_CST);
}

static void check(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&drawn, __ATOMIC_SEQ_CST) < 2) {
        ebb_spawn(check, NULL);
        return;
    }
    /* Each value is expected 256 times (standard deviation 16): [128, 400] fails a real
     * source with a probability far below 1e-9, and catches zeros, repeats and lost bytes. */
    unsigned count[256] = { 0 }, lo = TOTAL, hi = 0;
    for (size_t i = 0; i < TOTAL; i++)
        count[bytes[i]]++;
    for (unsigned v = 0; v < 256; v++) {
        lo = count[v] < lo ? count[v] : lo;
        hi = count[v] > hi ? count[v] : hi;
    }
    ok(lo >= 128 && hi <= 400, "64 KiB drawn on two cores at once: every byte value 128 to 400 "
       "times (%u to %u)", lo, hi);
    ok(memcmp(first[0], first[1], sizeof first[0]) != 0, "the two cores got different bytes");
    uint64_t a = 0, b = 0;
    ebb_random(&a, sizeof a);
    ebb_random(&b, sizeof b);
    ok(a != b && a && b, "two 8-byte draws differ (%016llx %016llx)", (unsigned long long)a,
       (unsigned long long)b);
    ebb_exit(tap_done());
}

void app_main(void)
{
    tap_plan(4);
    const char *src = ebb_native_random_source();
    ok(src && *src, "randomness from %s", src);
    ebb_spawn_on(0, draw_on_core, (void *)0);
    ebb_spawn_on(1, draw_on_core, (void *)1);
    ebb_spawn(check, NULL);
}
