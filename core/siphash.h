/* SipHash-2-4 (Aumasson and Bernstein): a keyed hash for tables whose keys come from the network,
 * so that a peer who does not know the key cannot aim many keys at one chain. */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint64_t ebb_siphash(const uint64_t key[2], const void *data, size_t n);
