/* The Messenger Ebb: carries Ebb calls between nodes (core/messenger.h has the user's API, the
 * wire format and the glue generated code uses). One shared rep per node; its sockets live on
 * the core that built it, and calls from other cores are handed to that core. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/ebb.h"
#include "core/ebb_annot.h"
#include "core/future.h"
#include "core/iobuf.h"

/* EBB_ID_MESSENGER: core/ids.h */

/* Turns a reply payload into the future's value and frees arg; see core/messenger.h. */
typedef int (*ebb_msg_unpack_fn)(void *arg, int err, const uint8_t *p, size_t n, uint64_t *value);

struct EBB_INTERFACE(shared) messenger {
    ebb_future_t (*call)(void *self, unsigned node, ebb_id_t id, uint64_t iface, unsigned method,
                         struct iobuf *args, ebb_msg_unpack_fn unpack, void *arg);
    int (*listen)(void *self, const char *addr, uint16_t port);
    /* Where node's Messenger listens (remote too: a front end names a node it allocates to its
     * other nodes). 0 or -errno. */
    int32_t (*peer)(void *self, uint32_t node, const char *EBB_STRING addr, uint16_t port) EBB_REMOTE;
    void (*stop)(void *self);
    /* node is gone (a front end tells its other nodes when one of its nodes exits, crashes or is
     * freed): as ebb_messenger_node_down(node, EBB_ENODEDOWN). 0, or -EINVAL for this node. */
    int32_t (*node_down)(void *self, uint32_t node) EBB_REMOTE;
};
