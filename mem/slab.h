/* The slab allocator: caches of fixed-size objects with one cache per core (SLQB-like).
 *
 * A struct slab_class describes an object size (shared, read-only). Each core owns a struct
 * slab_cpu per class: its LIFO of free objects, the slabs it owns that still have room (partial
 * list) and one spare empty slab. The top of the LIFO is a small array (`mag`); its overflow goes
 * to a second array (`depot`) and, only when that cannot grow, to a list linked through the
 * objects: popping from an array does not wait on a load from the object just popped, and an
 * array moves in batches by copying, without touching the (by then cold) objects. Alloc and
 * free of the core's own objects touch only its slab_cpu: no lock, no atomic. An object freed on
 * another core is put in that core's outgoing batch for the owner, an array of pointers (struct
 * slab_batch); a full batch (or one for a different owner) is pushed onto the owner's `remote`
 * stack with one CAS, and the owner takes the whole stack when it runs dry and copies the
 * pointers into its depot: neither side touches the objects (lines the other core last wrote),
 * and the emptied batch is the owner's to fill with its own remote frees. A core that frees into
 * the slabs of an owner that no longer takes its incoming batches (an idle or finished thread)
 * adopts those slabs instead: the objects return to them at once and it allocates from them.
 * When a core's depot
 * and list together grow past its
 * high-water mark, the depot joins the list and half of that goes back to the slabs; a slab
 * whose objects are all back is kept as the spare or returned to the page allocator. A cache
 * that stops taking slow paths is trimmed by slab_trim_idle (from an idle handler or a timer),
 * which also gives back the pages of its partly used slabs whose objects are all free: those
 * objects leave the slab's list (they are "hidden"; the release zeroes their links) and come
 * back, by their position, when the slab has nothing else to give. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "mem/page.h"

#if defined(MEM_DEBUG) || defined(__SANITIZE_ADDRESS__)
#define MEM_CHECKS 1  /* double-free and foreign-pointer reports, at some cost */
#else
#define MEM_CHECKS 0
#endif

struct slab_class {
    uint32_t size;     /* object size */
    uint32_t rcap;     /* objects in a full outgoing batch */
    uint32_t nobj;     /* objects per slab */
    uint32_t data_off; /* offset of the first object from the slab start */
    uint32_t hiwater;  /* per-core list length that triggers a flush to the slabs */
    uint8_t order;     /* a slab is 2^order pages */
};

struct slab_cpu;

struct slab {                       /* at the start of each slab */
    struct slab *next, *prev;       /* owner's partial list */
    void *free;                     /* objects returned to this slab */
    char *bump, *end;               /* objects never handed out yet */
    uint32_t nfree;                 /* objects on `free` */
    uint32_t inuse;                 /* objects outside the slab (in use or on a core's list) */
    struct slab_cpu *cpu;           /* the owning core's cache */
    const struct slab_class *cls;
    uint8_t on_partial;
    uint32_t nhidden;               /* free objects on released pages (not on `free`) */
    uint64_t released;              /* pages (of a slab of up to 64) given back to the platform */
    uint64_t live[];                /* MEM_CHECKS: a bit per object handed out to a user */
};

/* Objects freed on a core other than their owner's, on their way back: one page. */
struct slab_batch {
    struct slab_batch *next;        /* the owner's incoming stack, or a cache's spare batches */
    uint32_t n;                     /* objects in obj[] */
    uint32_t below;                 /* objects in the batches under it (an estimate, see slab.c) */
    void *obj[];
};
#define SLAB_BATCH_SLOTS ((MEM_PAGE_SIZE - sizeof(struct slab_batch)) / sizeof(void *))

struct slab_cpu {
    /* Top of the LIFO: the array mag[0..top), room up to end. A pointer, not a count, so the
     * fast paths are one load, compare and store of it (and no load of mag). */
    void **top;
    void **mag, **end;
    /* Older objects spilled from the array, as an array too (2^dorder pages, grown on demand):
     * moving them back is a copy, where a list would be a walk through cold objects. */
    uint32_t *depot;                /* entries: see depot_put in slab.c */
    uint32_t ndepot, dorder;
    void *free;                     /* the rest, linked through the objects' first word */
    uint32_t nfree;
    uint32_t hiwater;
    const struct slab_class *cls;
    struct slab *partial;
    struct slab *spare;
    unsigned node;
    uint32_t off;                   /* of this cache within its rep: free finds it from the rep */
    /* Held by the slow paths (refill, spill, trim, taking a batch), never by the fast paths:
     * everything but the array's top and the outgoing batch may then be trimmed from another
     * thread. */
    int lock;
    uint32_t slow;                  /* slow paths taken (under lock) */
    uint32_t seen;                  /* `slow` at the idle trimmer's previous look */
    uint32_t nspare;                /* batches on `spares` */
    struct slab_batch *spares;      /* emptied incoming batches, for outgoing ones (under lock) */
    /* Outgoing: frees of other cores' objects, batched for one destination. */
    struct slab_cpu *rtarget;
    struct slab_batch *rbatch;
    /* The destination of the previous pushed batch and its `slow` then: the idle test of slab
     * adoption (slab_remote_flush). */
    struct slab_cpu *pushed;
    uint32_t pushed_slow;
    /* Objects found on the list whose slab another cache adopted meanwhile, to forward to it
     * once the lock is dropped (under lock). */
    void *foreign;
    size_t slabs;                   /* slabs owned */
    /* Incoming: batches pushed by other cores; on its own cache line. */
    _Alignas(64) struct slab_batch *remote; /* accessed with __atomic builtins */
    char pad_[56];
};

/* Fills a class for objects of `size` bytes (aligned to its lowest set bit, up to a page). */
void slab_class_init(struct slab_class *cls, uint32_t size);
/* Array slots a core's cache of this class wants (mag, given to slab_cpu_init). */
uint32_t slab_mag_slots(const struct slab_class *cls);
void slab_cpu_init(struct slab_cpu *c, const struct slab_class *cls, unsigned node, uint32_t off,
                   void **mag, uint32_t cap);

void *slab_refill(struct slab_cpu *c);                /* slow path of slab_alloc */
void slab_spill(struct slab_cpu *c, void *p);         /* slow path of a local free */
/* Pushes the outgoing batch; or, if its destination looks idle (two full batches already wait on
 * its incoming stack and it took no slow path since this cache's previous push to it), adopts the
 * slabs of the batch's objects: they move to this cache, the objects go straight back into them,
 * and this cache's later frees of their objects are local. */
void slab_remote_flush(struct slab_cpu *c);
/* Slow path of slab_free_remote: a batch for a new destination (flushing the previous one). */
void slab_remote_start(struct slab_cpu *c, struct slab_cpu *owner, void *p);
/* Returns everything the cache holds (list, incoming and outgoing batches, spare slab) to the
 * slabs and the page allocator. Call on the owning core (or when the owner is quiescent). */
void slab_trim(struct slab_cpu *c);
/* The idle trim, callable from any thread: if the cache took no slow path since the previous
 * call, its depot, list, incoming batches and spare slab go back (not the array's top nor the
 * outgoing batch, which only the owner touches). Returns the bytes given back to the slabs. */
size_t slab_trim_idle(struct slab_cpu *c);
/* Bytes of free objects the cache holds beyond its array, incoming batches included (an
 * estimate: racy reads). */
size_t slab_cached_bytes(const struct slab_cpu *c);
/* MEM_CHECKS reports: p is not an object of s, or not live. */
void slab_check_free(struct slab *s, void *p);
void slab_mark_live(void *p);

static inline struct slab *slab_of(const void *p)
{
    struct mem_page *pg = mem_page_of(p);
    return pg && pg->state == MEM_PG_SLAB ? (struct slab *)pg->owner : NULL;
}

static inline void *slab_alloc(struct slab_cpu *c)
{
    void *p;
    void **t = c->top;
    if (__builtin_expect(t != c->mag, 1)) {
        p = t[-1];
        c->top = t - 1;
    } else {
        p = slab_refill(c);
    }
    if (MEM_CHECKS && p)
        slab_mark_live(p);
    return p;
}

/* Frees p, an object of another core's cache `owner`, from the core whose cache of the same
 * class is `self`: into self's outgoing batch. */
static inline void slab_free_remote(struct slab_cpu *self, struct slab_cpu *owner, void *p)
{
    struct slab_batch *b = self->rbatch;
    if (__builtin_expect(self->rtarget != owner || !b, 0)) {
        slab_remote_start(self, owner, p);
        return;
    }
    b->obj[b->n++] = p;
    if (b->n >= self->cls->rcap)
        slab_remote_flush(self);
}

/* Frees p, an object on slab page pg, from the core whose cache of the same class is `self`.
 * The page descriptor names the owner, so the common case does not touch the slab header. */
static inline void slab_free(struct slab_cpu *self, struct mem_page *pg, void *p)
{
    if (MEM_CHECKS)
        slab_check_free(pg->owner, p);
    struct slab_cpu *owner = pg->cpu;
    if (__builtin_expect(owner == self, 1)) {
        void **t = self->top;
        if (__builtin_expect(t != self->end, 1)) {
            *t = p;
            self->top = t + 1;
        } else {
            slab_spill(self, p);
        }
        return;
    }
    slab_free_remote(self, owner, p);
}
