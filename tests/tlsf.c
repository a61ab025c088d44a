/* The TLSF rep (reps/tlsf.c) on its own: random malloc/free/realloc/memalign with contents and
 * alignment checked, heap invariants after every phase, and all memory back at the end. */
#include "reps/tlsf.h"
#include "ebbs/malloc.gen.h"
#include "tap.h"
#include <stdint.h>

#define SLOTS 2000
static uint64_t s = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }

int main(void)
{
    tap_plan(7);
    tap_deadline(120);
    setenv("EBB_ARENA_MB", "512", 1);
    void *r = tlsf_root.create_rep(&tlsf_root, 0);
    const struct mem_malloc *m = EBB_OPS(r, struct mem_malloc);
    static struct { unsigned char *p; size_t n; unsigned char tag; } live[SLOTS];
    int bad_align = 0, bad_data = 0, nulls = 0, bad_check = 0;
    char err[160] = "";
    for (int op = 0; op < 200000; op++) {
        int i = (int)(rnd() % SLOTS);
        if (live[i].p) {
            for (size_t k = 0; k < live[i].n; k += 1 + live[i].n / 8)
                bad_data += live[i].p[k] != live[i].tag;
            if (rnd() % 4 == 0) {
                size_t n = 1 + rnd() % 20000;
                unsigned char *q = m->realloc(r, live[i].p, n);
                if (!q) { nulls++; continue; }
                size_t keep = n < live[i].n ? n : live[i].n;
                for (size_t k = 0; k < keep; k += 1 + keep / 8)
                    bad_data += q[k] != live[i].tag;
                live[i].p = q, live[i].n = n;
                memset(q, live[i].tag, n);
                continue;
            }
            m->free(r, live[i].p);
            live[i].p = NULL;
        } else {
            size_t n = rnd() % 3 ? 1 + rnd() % 512 : 1 + rnd() % 100000;
            size_t align = rnd() % 5 == 0 ? (size_t)1 << (4 + rnd() % 10) : 16;
            unsigned char *p = align > 16 ? m->memalign(r, align, n) : m->malloc(r, n);
            if (!p) { nulls++; continue; }
            bad_align += ((uintptr_t)p & (align - 1)) != 0;
            bad_data += m->usable_size(r, p) < n;
            live[i].p = p, live[i].n = n, live[i].tag = (unsigned char)rnd();
            memset(p, live[i].tag, n);
        }
        if (op % 20000 == 0 && tlsf_check(err, sizeof err) < 0)
            bad_check++;
    }
    is(nulls, 0, "no allocation failed");
    is(bad_align, 0, "every block is aligned as asked (16 B .. 8 KiB)");
    is(bad_data, 0, "contents survive neighbours' frees, splits, merges and realloc");
    is(bad_check, 0, "heap invariants hold throughout: %s", err);
    for (int i = 0; i < SLOTS; i++)
        if (live[i].p)
            m->free(r, live[i].p);
    struct tlsf_stats st;
    tlsf_get_stats(&st);
    is(st.bytes_in_use, 0, "nothing in use after freeing everything");
    ok(tlsf_check(err, sizeof err) == 0, "and the heap is consistent: %s", err);
    ok(st.mallocs == st.frees, "every malloc had its free (%llu)", (unsigned long long)st.mallocs);
    return tap_done();
}
