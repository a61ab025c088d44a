/* Ebb ids, the LocalIdMap, roots and the fault path. */
#include "core/ebb.h"
#include "core/context.h"
#include "core/event.h"
#include "core/rcu.h"
#include "core/spinlock.h"
#include <errno.h>

/* LocalIdMap: the root bound to each id on this node. */
static struct ebb_root *roots[EBB_MAX_IDS]; /* accessed with __atomic builtins */

/* EbbAllocator: a bitmap of this node's dynamic indices. */
static uint64_t id_used[(1u << EBB_INDEX_BITS) / 64];
static int id_lock;
static unsigned this_node;

unsigned ebb_node(void) { return this_node; }
void ebb_set_node(unsigned node) { this_node = node; }

ebb_id_t ebb_id_alloc(void)
{
    unsigned first = this_node == 0 ? EBB_FIRST_DYNAMIC : 1;
    ebb_id_t id = EBB_ID_NONE;
    spin_lock(&id_lock);
    for (unsigned i = first; i < (1u << EBB_INDEX_BITS); i++) {
        if (!(id_used[i / 64] & (1ull << (i % 64)))) {
            id_used[i / 64] |= 1ull << (i % 64);
            id = EBB_ID(this_node, i);
            break;
        }
    }
    spin_unlock(&id_lock);
    return id;
}

static void id_drop_cached(void *arg) { ebb_ltt_clear((ebb_id_t)(uintptr_t)arg); }

static void id_release(void *arg)
{
    unsigned i = (ebb_id_t)(uintptr_t)arg & ((1u << EBB_INDEX_BITS) - 1);
    spin_lock(&id_lock);
    id_used[i / 64] &= ~(1ull << (i % 64));
    spin_unlock(&id_lock);
}

/* The id goes back to the allocator only once every core has dropped its cached rep, so that
 * the id's next owner is never served by the old rep. */
void ebb_id_free(ebb_id_t id)
{
    if (id == EBB_ID_NONE || id >= EBB_MAX_IDS || EBB_ID_NODE(id) != this_node)
        return;
    __atomic_store_n(&roots[id], NULL, __ATOMIC_RELEASE);
    ebb_rcu_each(id_drop_cached, id_release, (void *)(uintptr_t)id);
}

int ebb_bind(ebb_id_t id, struct ebb_root *root)
{
    if (id == EBB_ID_NONE || id >= EBB_MAX_IDS)
        return -EINVAL;
    struct ebb_root *old = __atomic_load_n(&roots[id], __ATOMIC_ACQUIRE);
    if (old && old != root && __atomic_load_n(&old->used_, __ATOMIC_ACQUIRE))
        return -EBUSY;
    __atomic_store_n(&roots[id], root, __ATOMIC_RELEASE);
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
    if (id >= EBB_MAX_IDS)
        return NULL;
    struct ebb_root *r = __atomic_load_n(&roots[id], __ATOMIC_ACQUIRE);
    if (r)
        return r;
    struct ebb_root *want = ebb_image_bindings ? table_root(ebb_image_bindings,
                                                            ebb_image_nbindings, id) : NULL;
    if (!want)
        want = table_root(ebb_default_bindings, ebb_default_nbindings, id);
    /* A run-time binding made meanwhile wins over the tables. */
    if (want && !__atomic_compare_exchange_n(&roots[id], &r, want, false, __ATOMIC_ACQ_REL,
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
    if (id >= EBB_MAX_IDS)
        ebb_panic("ebb: call to id %#x, out of range", id);
    struct ebb_root *root = ebb_root_of(id);
    if (!root)
        ebb_panic("ebb: call to id %#x (node %u, index %u), which has no root bound", id,
                  EBB_ID_NODE(id), id & ((1u << EBB_INDEX_BITS) - 1));
    if (iface && root->iface && iface != root->iface)
        ebb_panic("ebb: id %#x is bound to root %s of interface %#llx, but called as %#llx", id,
                  root->name ? root->name : "?", (unsigned long long)root->iface,
                  (unsigned long long)iface);
    void *rep = root_rep(root, ebb_core());
    EBB_LTT[id] = rep;
    return rep;
}
