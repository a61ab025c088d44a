/* Ebb ids, the LocalIdMap, roots and the fault path. */
#include "core/ebb.h"
#include "core/context.h"
#include "core/event.h"
#include "core/rcu.h"
#include "core/spinlock.h"
#include <errno.h>
#include <stdlib.h>

/* LocalIdMap: the root bound to each id on this node, a radix tree of 8 + 12 + 12 bits whose
 * pointers are read with __atomic builtins (no lock on the fault path). Only binding makes a
 * level, so a node holds what it bound, never what a peer names. The first leaf (node 0's ids
 * below 4096: every static id) is static, so that binding the malloc Ebb allocates nothing. */
#define LEAF_BITS 12
#define MID_BITS  12
struct leaf { struct ebb_root *root[1u << LEAF_BITS]; };
struct mid { struct leaf *leaf[1u << MID_BITS]; };
static struct leaf leaf0;
static struct mid mid0 = { .leaf = { &leaf0 } };
static struct mid *top[1u << (32 - MID_BITS - LEAF_BITS)] = { &mid0 };

/* *pp, made (zeroed, n bytes) if it is NULL and make is true; NULL if absent or out of memory. */
static void *level(void **pp, size_t n, bool make)
{
    void *l = __atomic_load_n(pp, __ATOMIC_ACQUIRE), *seen = NULL;
    if (l || !make || !(l = calloc(1, n)))
        return l;
    if (!__atomic_compare_exchange_n(pp, &seen, l, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        free(l); /* another core made it meanwhile */
        l = seen;
    }
    return l;
}

/* The slot of id's root; NULL if its leaf does not exist and make is false (or memory ran out). */
static struct ebb_root **root_slot(ebb_id_t id, bool make)
{
    struct mid *m = level((void **)&top[id >> (MID_BITS + LEAF_BITS)], sizeof *m, make);
    struct leaf *l = m ? level((void **)&m->leaf[(id >> LEAF_BITS) & ((1u << MID_BITS) - 1)],
                               sizeof *l, make) : NULL;
    return l ? &l->root[id & ((1u << LEAF_BITS) - 1)] : NULL;
}

/* EbbAllocator: a bitmap of this node's dynamic indices. */
static uint64_t id_used[EBB_MAX_INDEX / 64];
static int id_lock;
static unsigned this_node;

unsigned ebb_node(void) { return this_node; }
void ebb_set_node(unsigned node) { this_node = node; }

ebb_id_t ebb_id_alloc(void)
{
    unsigned first = this_node == 0 ? EBB_FIRST_DYNAMIC : 1;
    ebb_id_t id = EBB_ID_NONE;
    spin_lock(&id_lock);
    for (unsigned w = first / 64; w < EBB_MAX_INDEX / 64 && !id; w++) {
        uint64_t free_bits = ~id_used[w];
        if (w == first / 64)
            free_bits &= ~0ull << (first % 64);
        if (free_bits) {
            unsigned i = w * 64 + (unsigned)__builtin_ctzll(free_bits);
            id_used[w] |= 1ull << (i % 64);
            id = EBB_ID(this_node, i);
        }
    }
    spin_unlock(&id_lock);
    return id;
}

static void id_drop_cached(void *arg) { ebb_ltt_clear((ebb_id_t)(uintptr_t)arg); }

static void id_release(void *arg)
{
    unsigned i = EBB_ID_INDEX((ebb_id_t)(uintptr_t)arg);
    spin_lock(&id_lock);
    id_used[i / 64] &= ~(1ull << (i % 64));
    spin_unlock(&id_lock);
}

/* The id goes back to the allocator only once every core has dropped its cached rep, so that
 * the id's next owner is never served by the old rep. */
void ebb_id_free(ebb_id_t id)
{
    if (id == EBB_ID_NONE || EBB_ID_NODE(id) != this_node)
        return;
    struct ebb_root **slot = root_slot(id, false);
    if (slot)
        __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
    ebb_rcu_each(id_drop_cached, id_release, (void *)(uintptr_t)id);
}

int ebb_bind(ebb_id_t id, struct ebb_root *root)
{
    if (id == EBB_ID_NONE)
        return -EINVAL;
    struct ebb_root **slot = root_slot(id, true);
    if (!slot)
        return -ENOMEM;
    struct ebb_root *old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (old && old != root && __atomic_load_n(&old->used_, __ATOMIC_ACQUIRE))
        return -EBUSY;
    __atomic_store_n(slot, root, __ATOMIC_RELEASE);
    return 0;
}

static struct ebb_root *table_root(const struct ebb_static_binding *t, size_t n, ebb_id_t id)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].id == id)
            return t[i].root;
    return NULL;
}

struct ebb_root *ebb_root_of(ebb_id_t id)
{
    struct ebb_root **slot = root_slot(id, false), *r = NULL;
    if (slot && (r = __atomic_load_n(slot, __ATOMIC_ACQUIRE)))
        return r;
    struct ebb_root *want = ebb_image_bindings ? table_root(ebb_image_bindings,
                                                            ebb_image_nbindings, id) : NULL;
    if (!want)
        want = table_root(ebb_default_bindings, ebb_default_nbindings, id);
    /* A run-time binding made meanwhile wins over the tables. Static ids are all in leaf0, so
     * their slot exists. */
    if (want && slot && !__atomic_compare_exchange_n(slot, &r, want, false, __ATOMIC_ACQ_REL,
                                                     __ATOMIC_ACQUIRE))
        return r;
    return want;
}

/* A core waiting for a rep another event is building. */
struct ebb_waiter {
    struct ebb_context ctx;
    unsigned slot;
    struct ebb_waiter *next;
};

static unsigned slot_of(const struct ebb_root *root, unsigned core)
{
    switch (root->kind) {
    case EBB_PER_CORE: return core;
    case EBB_PER_NODE: return ebb_numa_node_of(core);
    default: return 0;
    }
}

/* Builds each slot's rep exactly once, even when several cores (or several blocked events of one
 * core) fault on it at once: the first builds without holding the lock (create_rep may block),
 * the others park their context until it is done. */
static void *root_rep(struct ebb_root *root, unsigned core)
{
    unsigned s = slot_of(root, core);
    void *rep = __atomic_load_n(&root->reps_[s], __ATOMIC_ACQUIRE);
    if (rep)
        return rep;
    for (;;) {
        spin_lock(&root->lock_);
        rep = __atomic_load_n(&root->reps_[s], __ATOMIC_ACQUIRE);
        if (rep) {
            spin_unlock(&root->lock_);
            return rep;
        }
        if (!root->building_[s])
            break;
        if (!ebb_in_event_loop()) {
            spin_unlock(&root->lock_);
            while (!__atomic_load_n(&root->reps_[s], __ATOMIC_ACQUIRE))
                ebb_cpu_relax();
            continue;
        }
        struct ebb_waiter w = { .slot = s, .next = root->waiters_, .ctx.core = core };
        root->waiters_ = &w;
        spin_unlock(&root->lock_);
        /* Activation is an event on this core, so it cannot run before the save completes. */
        ebb_context_save(&w.ctx);
    }
    root->building_[s] = 1;
    __atomic_store_n(&root->used_, 1, __ATOMIC_RELEASE);
    spin_unlock(&root->lock_);

    rep = root->create_rep(root, core);
    if (!rep)
        ebb_panic("ebb: root %s failed to create a rep for core %u", root->name ? root->name : "?", core);

    spin_lock(&root->lock_);
    __atomic_store_n(&root->reps_[s], rep, __ATOMIC_RELEASE);
    root->building_[s] = 0;
    struct ebb_waiter **pp = &root->waiters_, *wake = NULL;
    while (*pp) {
        struct ebb_waiter *w = *pp;
        if (w->slot == s) {
            *pp = w->next;
            w->next = wake;
            wake = w;
        } else {
            pp = &w->next;
        }
    }
    spin_unlock(&root->lock_);
    while (wake) {
        struct ebb_waiter *next = wake->next; /* w lives on the waiter's stack: read first */
        ebb_context_activate(&wake->ctx);
        wake = next;
    }
    return rep;
}

void *ebb_fault(ebb_id_t id, uint64_t iface)
{
    struct ebb_root *root = ebb_root_of(id);
    if (!root)
        ebb_panic("ebb: call to id %#x (node %u, index %u), which has no root bound", id,
                  EBB_ID_NODE(id), EBB_ID_INDEX(id));
    if (iface && root->iface && iface != root->iface)
        ebb_panic("ebb: id %#x is bound to root %s of interface %#llx, but called as %#llx", id,
                  root->name ? root->name : "?", (unsigned long long)root->iface,
                  (unsigned long long)iface);
    void *rep = root_rep(root, ebb_core());
    EBB_LTT[id] = rep;
    return rep;
}
