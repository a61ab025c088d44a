/* The GlobalIdMap's "1,000 ids set and read across nodes" check, shared by the hosted test
 * (tests/gidmap.c) and the native nodes of the cluster test (tests/cluster/ctest.c). */
#pragma once
#include <string.h>
#include "core/future.h"
#include "ebbs/globalidmap.gen.h"

#define GIDMAP_NIDS 1000
#define GIDMAP_LEN_MAX 300

/* id's data: a length and bytes that follow from the id. */
static inline uint32_t gidmap_data_of(ebb_id_t id, uint8_t *buf)
{
    uint32_t len = (id * 2654435761u) % GIDMAP_LEN_MAX, x = id;
    for (uint32_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    return len;
}

/* Sets (set != 0) or checks the GIDMAP_NIDS ids EBB_ID(space, first + i), 100 calls in flight at
 * a time: the number that failed. */
static inline unsigned gidmap_ids(unsigned space, unsigned first, int set)
{
    static uint8_t data[GIDMAP_NIDS][GIDMAP_LEN_MAX], got[GIDMAP_NIDS][GIDMAP_LEN_MAX];
    uint32_t len[GIDMAP_NIDS];
    unsigned bad = 0;
    for (unsigned b = 0; b < GIDMAP_NIDS; b += 100) {
        ebb_future_t fs[100];
        uint64_t vs[100];
        for (unsigned i = b; i < b + 100; i++) {
            ebb_id_t id = EBB_ID(space, first + i);
            len[i] = gidmap_data_of(id, data[i]);
            fs[i - b] = set ? globalidmap_set(EBB_ID_GLOBALIDMAP, id, data[i], len[i])
                            : globalidmap_get(EBB_ID_GLOBALIDMAP, id, got[i], sizeof got[i]);
        }
        if (ebb_future_block(ebb_future_when_all(fs, 100, vs), NULL)) {
            bad += 100;
            continue;
        }
        for (unsigned i = b; !set && i < b + 100; i++)
            bad += vs[i - b] != len[i] || memcmp(got[i], data[i], len[i]) != 0;
    }
    return bad;
}
