/* The GlobalIdMap: data (bytes) for Ebb ids, the same on every node of the application, and its
 * membership (which nodes are up, and where their Messengers listen). Ebb ids already mean the
 * same on every node (each node makes ids in its own space, core/ebb.h); what a node learns
 * here is what an id stands for, e.g. a fault handler looking up an Ebb made on another node.
 * A shared rep per node (docs/cluster.md). A front end's NodeAllocator keeps its own and its
 * native nodes' membership: they join when up and leave when freed or dead.
 *
 * The default (core/gidmap.c) is embedded: node gidmap_node= (default 0, the front end) holds the
 * map, and every other node's rep asks it through the Messenger. platform/hosted/gidmap_zk.c keeps it in
 * ZooKeeper instead, for applications that span hosts (globalidmap=zk:HOST:PORT). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"
#include "core/future.h"

/* EBB_ID_GLOBALIDMAP: core/ids.h */
#define GIDMAP_DATA_MAX 65536u /* bytes of data one id may hold */
#define GIDMAP_ADDR_MAX 64u    /* bytes of a member's address, with its NUL */

struct EBB_INTERFACE(shared) globalidmap {
    /* id's data into buf (at most cap bytes are written): the future's value is the data's whole
     * length; it fails with ENOENT if no data was set for id. */
    ebb_future_t (*get)(void *self, ebb_id_t id, uint8_t *EBB_OUT(cap) buf, uint32_t cap) EBB_REMOTE;
    /* Sets (or replaces) id's data: the future's value is 0; EMSGSIZE above GIDMAP_DATA_MAX,
     * ENOSPC when the map is full (gidmap_ids_max, gidmap_bytes_max). */
    ebb_future_t (*set)(void *self, ebb_id_t id, const uint8_t *EBB_IN(len) data, uint32_t len) EBB_REMOTE;
    /* node is up, its Messenger at addr ("A.B.C.D:PORT", or "" if it does not listen). */
    ebb_future_t (*join)(void *self, uint32_t node, const char *EBB_STRING addr) EBB_REMOTE;
    ebb_future_t (*leave)(void *self, uint32_t node) EBB_REMOTE;
    /* The member nodes in ascending order into nodes (at most cap): the value is their count. */
    ebb_future_t (*members)(void *self, uint32_t *EBB_OUT(cap) nodes, uint32_t cap) EBB_REMOTE;
    /* Where member node's Messenger listens, into addr (GIDMAP_ADDR_MAX bytes is enough): the
     * value is the address's length; ENOENT if node is not a member. */
    ebb_future_t (*lookup)(void *self, uint32_t node, char *EBB_OUT(cap) addr, uint32_t cap) EBB_REMOTE;
};

/* The default root (core/gidmap.c), and the limits of the embedded map (config keys). */
extern struct ebb_root ebb_gidmap_root;
struct ebb_gidmap_stats { uint64_t ids, bytes, sets_refused; };
void ebb_gidmap_stats(struct ebb_gidmap_stats *out);
