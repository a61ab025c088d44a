/* virtio-rng (the entropy device): the native source of randomness on a CPU without RDRAND
 * (platform/native/random.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Whether the machine has the device (PCI enumeration only: usable at boot). */
bool virtio_rng_present(void);
/* Fills buf[0..n) with the device's bytes, setting it up on first use (needs the page
 * allocator). Polled, not interrupt-driven; the caller serialises calls. 0, or -1 when the
 * device fails or stops answering. */
int virtio_rng_read(void *buf, size_t n);
