/* The in-memory wire: two network interface Ebbs joined back to back, with faults injected on
 * the way (each frame independently, in percent): loss, corruption (one byte flipped),
 * duplication, and reordering (the frame is held back `reorder_delay_us`). */
#pragma once
#include <stdbool.h>
#include "core/ebb.h"

struct wire_faults {
    unsigned loss_pct, corrupt_pct, dup_pct, reorder_pct;
    unsigned reorder_delay_us; /* 0: 500 */
    uint64_t seed;
    /* Offer NETIF_F_TX_CSUM and complete the partial checksums as a device does, before any
     * fault (fixed when the wire is made: wire_set_faults keeps it). */
    bool tx_csum;
};

struct wire_counts {
    uint64_t frames, lost, corrupted, duplicated, reordered;
};

/* Makes the two interfaces (bound to fresh ids in ids[0], ids[1]); side i delivers what it
 * receives on core cores[i]. 0 or -errno. */
int wire_create(const struct wire_faults *f, const unsigned cores[2], ebb_id_t ids[2]);
void wire_counts(ebb_id_t side, struct wire_counts *out);
/* Changes the faults of a live wire (both directions). */
void wire_set_faults(ebb_id_t side, const struct wire_faults *f);
