/* Per-core slab caches (see slab.h). */
#include "mem/slab.h"
#include "core/platform.h"
#include <string.h>

static size_t header_size(uint32_t nobj)
{
    size_t h = sizeof(struct slab);
    if (MEM_CHECKS)
        h += (nobj + 63) / 64 * sizeof(uint64_t);
    return h;
}

void slab_class_init(struct slab_class *cls, uint32_t size)
{
    memset(cls, 0, sizeof *cls);
    if (size < sizeof(void *)) /* free objects on lists hold a link */
        size = sizeof(void *);
    uint32_t align = size & -size;
    if (align > MEM_PAGE_SIZE)
        align = MEM_PAGE_SIZE;
    unsigned order = 4; /* at least 64 KiB and 16 objects */
    while ((MEM_PAGE_SIZE << order) < (size_t)size * 16)
        order++;
    size_t bytes = MEM_PAGE_SIZE << order;
    /* The header (with its bitmap, sized for the most objects that could fit) comes first. */
    size_t off = header_size((uint32_t)(bytes / size));
    off = (off + align - 1) & ~((size_t)align - 1);
    cls->size = size;
    cls->order = (uint8_t)order;
    cls->data_off = (uint32_t)off;
    cls->nobj = (uint32_t)((bytes - off) / size);
    /* A core keeps up to 2 MiB of free small objects (up to 128 B) per class, 256 KiB of larger
     * ones, and at least a slab's worth, so a core that frees what it allocated rarely walks
     * objects back to their slabs: the many small objects are where that walk costs most. The
     * bound on what a core may hoard is the sum: about 24 MiB (slab_trim returns it all). */
    uint32_t hw = (uint32_t)((size <= 128 ? 2048u << 10 : 256u << 10) / size);
    cls->hiwater = hw > cls->nobj ? hw : cls->nobj;
    /* An outgoing batch holds up to 16 KiB of objects (at least 16, at most a page of them):
     * what a core that frees others' objects keeps from their owners meanwhile, per class
     * (xmalloc at 2 threads: peak RSS 3.4 MiB with 32 KiB, 3.1-3.2 MiB with 16 KiB). */
    uint32_t rc = (uint32_t)((16u << 10) / size);
    cls->rcap = rc < 16 ? 16 : rc > SLAB_BATCH_SLOTS ? (uint32_t)SLAB_BATCH_SLOTS : rc;
}

uint32_t slab_mag_slots(const struct slab_class *cls)
{
    uint32_t k = (uint32_t)((64u << 10) / cls->size);
    return k < 16 ? 16 : k > 256 ? 256 : k;
}

void slab_cpu_init(struct slab_cpu *c, const struct slab_class *cls, unsigned node, uint32_t off,
                   void **mag, uint32_t cap)
{
    memset(c, 0, sizeof *c);
    c->mag = c->top = mag;
    c->end = mag + cap;
    c->cls = cls;
    c->hiwater = cls->hiwater;
    c->node = node;
    c->off = off;
}

static void partial_add(struct slab_cpu *c, struct slab *s)
{
    s->prev = NULL;
    s->next = c->partial;
    if (c->partial)
        c->partial->prev = s;
    c->partial = s;
    s->on_partial = 1;
}

static void partial_del(struct slab_cpu *c, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->on_partial = 0;
}

static void slab_reset(struct slab_cpu *c, struct slab *s)
{
    const struct slab_class *cls = c->cls;
    char *base = (char *)s;
    memset(s, 0, header_size(cls->nobj));
    s->bump = base + cls->data_off;
    s->end = s->bump + (size_t)cls->nobj * cls->size;
    s->cpu = c;
    s->cls = cls;
}

static struct slab *slab_new(struct slab_cpu *c)
{
    const struct slab_class *cls = c->cls;
    struct slab *s = mem_pages_alloc(c->node, cls->order);
    if (!s)
        return NULL;
    /* Every page of the slab points at it, so a free finds the slab from any object. */
    struct mem_page *pg = mem_page_of(s);
    for (size_t i = 0; i < ((size_t)1 << cls->order); i++) {
        pg[i].owner = s;
        pg[i].cpu = c;
        pg[i].off = c->off;
        pg[i].state = MEM_PG_SLAB;
    }
    slab_reset(c, s);
    c->slabs++;
    return s;
}

static void slab_pages_free(struct slab_cpu *c, struct slab *s)
{
    struct mem_page *pg = mem_page_of(s);
    for (size_t i = 0; i < ((size_t)1 << c->cls->order); i++) {
        pg[i].owner = NULL;
        pg[i].cpu = NULL;
        pg[i].off = 0;
        pg[i].state = MEM_PG_NONE;
    }
    c->slabs--;
    mem_pages_free(s, c->cls->order);
}

static void slab_release(struct slab_cpu *c, struct slab *s)
{
    if (s->on_partial)
        partial_del(c, s);
    if (!c->spare) {
        slab_reset(c, s);
        c->spare = s;
        return;
    }
    slab_pages_free(c, s);
}

/* Moves up to k objects from the list to the array. */
static void list_to_mag(struct slab_cpu *c, uint32_t k)
{
    void *p = c->free;
    void **t = c->top;
    while (k-- && p) {
        *t++ = p;
        p = *(void **)p;
        c->nfree--;
    }
    c->free = p;
    c->top = t;
    if (!p)
        c->nfree = 0; /* the count is exact but for a rare race on remote batches (take_remote) */
}

/* An outgrown or trimmed depot goes back; one of 64 KiB or more (as much memory as its 16 KiB
 * of 8-byte objects, at least) leaves the resident set at once: nothing else may want it soon. */
static void depot_free(struct slab_cpu *c)
{
    if (c->dorder >= 4)
        mem_pages_free_released(c->depot, c->dorder);
    else
        mem_pages_free(c->depot, c->dorder);
    c->depot = NULL;
}

/* Depot entries are 32 bits: an object's offset from the start of the first memory range in
 * 8-byte units, which reaches 32 GiB (the whole hosted arena). Half the memory of pointers: the
 * depot of 100000 free 8-byte objects was as large as the objects. */
#define DEPOT_REACH ((uintptr_t)1 << 35)
#define DEPOT_MISFIT (~(DEPOT_REACH - 1) | 7) /* offset bits that do not fit an entry */

/* Both copies below are plain loops the compiler turns into vector code, given leave to: gcc's
 * default cost model at -O2 vectorizes only loops of a known multiple of the vector width. */
#if defined(__clang__) /* vectorizes them at -O2 anyway */
#define VECTORIZE
#else
#define VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#endif

/* k objects from src into the depot (after depot_room); if one of them cannot be named by an
 * entry (beyond the reach, or not 8-byte aligned: a slab cache Ebb's odd size), all k go onto
 * the list instead (the check is one OR across them). */
VECTORIZE static void depot_put(struct slab_cpu *c, void *const *src, uint32_t k)
{
    uintptr_t base = mem_ranges[0].start, any = 0;
    uint32_t *d = c->depot + c->ndepot;
    for (uint32_t i = 0; i < k; i++) {
        uintptr_t off = (uintptr_t)src[i] - base;
        any |= off;
        d[i] = (uint32_t)(off >> 3);
    }
    if (__builtin_expect(!(any & DEPOT_MISFIT), 1)) {
        c->ndepot += k;
        return;
    }
    for (uint32_t i = 0; i < k; i++) {
        *(void **)src[i] = c->free;
        c->free = src[i];
    }
    c->nfree += k;
}

/* The newest k objects of the depot into dst. */
VECTORIZE static void depot_get(struct slab_cpu *c, void **dst, uint32_t k)
{
    uintptr_t base = mem_ranges[0].start;
    c->ndepot -= k;
    const uint32_t *d = c->depot + c->ndepot;
    for (uint32_t i = 0; i < k; i++)
        dst[i] = (void *)(base + ((uintptr_t)d[i] << 3));
}

/* Room in the depot for k more entries. False beyond the high-water mark (the depot is at most
 * 2 * 4 / size of the memory it caches) or if the page allocator has no pages to give. */
static int depot_room(struct slab_cpu *c, uint32_t k)
{
    size_t slots = (MEM_PAGE_SIZE << c->dorder) / sizeof(uint32_t);
    if (c->depot && c->ndepot + k <= slots)
        return 1;
    if (c->ndepot + k > c->hiwater)
        return 0;
    unsigned order = c->depot ? c->dorder + 1 : 0;
    while ((MEM_PAGE_SIZE << order) / sizeof(uint32_t) < c->ndepot + k)
        order++;
    uint32_t *d = mem_pages_alloc(c->node, order);
    if (!d)
        return 0;
    if (c->depot) {
        memcpy(d, c->depot, c->ndepot * sizeof(uint32_t));
        depot_free(c);
    }
    c->depot = d;
    c->dorder = order;
    return 1;
}

/* Keeps an emptied batch for this cache's own outgoing frees (one; the rest go back). Caller
 * holds the lock. */
static void batch_keep(struct slab_cpu *c, struct slab_batch *b)
{
    if (!c->nspare) {
        b->next = c->spares;
        c->spares = b;
        c->nspare++;
    } else {
        mem_pages_free(b, 0);
    }
}

/* Takes the incoming batches: their objects into the depot, or (beyond the high-water mark, or
 * without pages for a bigger depot) onto the list. Caller holds the lock. Each batch's `below`
 * counts the objects of the batches under it, so the cache's size is known without a walk
 * (a pusher reads it from the head it links to: if that batch went through the owner and back
 * to the top of the stack between the read and the compare-and-swap, the count is off; it is
 * only an estimate for the trimmers). */
static int take_remote(struct slab_cpu *c)
{
    if (!__atomic_load_n(&c->remote, __ATOMIC_RELAXED))
        return 0;
    struct slab_batch *b = __atomic_exchange_n(&c->remote, NULL, __ATOMIC_ACQUIRE);
    if (!b)
        return 0;
    while (b) {
        struct slab_batch *next = b->next;
        if (depot_room(c, b->n)) {
            depot_put(c, b->obj, b->n);
        } else {
            for (uint32_t i = 0; i < b->n; i++) {
                *(void **)b->obj[i] = c->free;
                c->free = b->obj[i];
            }
            c->nfree += b->n;
        }
        batch_keep(c, b);
        b = next;
    }
    return 1;
}

/* The depot's objects go to the list (before they go back to their slabs). */
static void depot_to_list(struct slab_cpu *c)
{
    uintptr_t base = mem_ranges[0].start;
    void *head = c->free;
    for (uint32_t i = 0; i < c->ndepot; i++) {
        void *p = (void *)(base + ((uintptr_t)c->depot[i] << 3));
        *(void **)p = head;
        head = p;
    }
    c->free = head;
    c->nfree += c->ndepot;
    c->ndepot = 0;
}

/* The objects of s that overlap page i of it: [*first, *last]. False if none does. */
static bool page_objects(const struct slab *s, size_t i, size_t *first, size_t *last)
{
    const struct slab_class *cls = s->cls;
    uintptr_t base = (uintptr_t)s + cls->data_off;
    uintptr_t ps = (uintptr_t)s + i * MEM_PAGE_SIZE, pe = ps + MEM_PAGE_SIZE;
    if (pe <= base)
        return false;
    *first = ps <= base ? 0 : (ps - base) / cls->size;
    *last = (pe - 1 - base) / cls->size;
    if (*last >= cls->nobj)
        *last = cls->nobj - 1;
    return *first <= *last;
}

#define HIDE_MAX_OBJS 4096 /* objects per slab the page release handles (a bitmap on the stack) */

/* Gives back the pages of s (on c's partial list) that lie below its bump pointer and whose
 * objects are all on its free list; those objects leave the list. Caller holds the lock. */
static void release_pages(struct slab_cpu *c, struct slab *s)
{
    const struct slab_class *cls = c->cls;
    size_t npages = (size_t)1 << cls->order;
    if (npages > 64 || cls->nobj > HIDE_MAX_OBJS || (size_t)s->nfree * cls->size < MEM_PAGE_SIZE)
        return;
    uint64_t isfree[HIDE_MAX_OBJS / 64];
    memset(isfree, 0, sizeof isfree);
    uintptr_t base = (uintptr_t)s + cls->data_off;
    for (void *p = s->free; p; p = *(void **)p) {
        size_t k = ((uintptr_t)p - base) / cls->size;
        isfree[k / 64] |= 1ull << (k % 64);
    }
    uint64_t rel = 0;
    for (size_t i = 1; i < npages; i++) { /* page 0 holds the header */
        size_t first, last;
        if ((s->released >> i & 1) || (uintptr_t)s + (i + 1) * MEM_PAGE_SIZE > (uintptr_t)s->bump ||
            !page_objects(s, i, &first, &last))
            continue;
        size_t k = first;
        while (k <= last && (isfree[k / 64] >> (k % 64) & 1))
            k++;
        if (k > last)
            rel |= 1ull << i;
    }
    if (!rel)
        return;
    s->released |= rel;
    void *keep = NULL;
    uint32_t kept = 0;
    for (void *p = s->free, *next; p; p = next) {
        next = *(void **)p;
        /* Hidden if any page it covers went back (an object may cover three or more). */
        size_t a = ((uintptr_t)p - (uintptr_t)s) / MEM_PAGE_SIZE;
        size_t z = ((uintptr_t)p - (uintptr_t)s + cls->size - 1) / MEM_PAGE_SIZE;
        uint64_t covers = (z - a == 63 ? ~0ull : ((1ull << (z - a + 1)) - 1)) << a;
        if (s->released & covers) {
            s->nhidden++;
            continue;
        }
        *(void **)p = keep;
        keep = p;
        kept++;
    }
    s->free = keep;
    s->nfree = kept;
    for (size_t i = 1; i < npages; i++) {
        size_t j = i;
        while (j < npages && (rel >> j & 1))
            j++;
        if (j > i)
            mem_platform_release((char *)s + i * MEM_PAGE_SIZE, (j - i) * MEM_PAGE_SIZE);
        i = j;
    }
}

/* The hidden objects of s back on its list (they are all free: nothing hands them out). */
static void unhide(struct slab *s)
{
    const struct slab_class *cls = s->cls;
    size_t npages = (size_t)1 << cls->order;
    size_t next = 0; /* objects below this one are done (one may overlap two released pages) */
    for (size_t i = 1; i < npages; i++) {
        size_t first, last;
        if (!(s->released >> i & 1) || !page_objects(s, i, &first, &last))
            continue;
        for (size_t k = first > next ? first : next; k <= last; k++) {
            void *p = (char *)s + cls->data_off + k * cls->size;
            *(void **)p = s->free;
            s->free = p;
            s->nfree++;
        }
        next = last + 1;
    }
    s->nhidden = 0;
    s->released = 0;
}

static void slab_flush(struct slab_cpu *c, uint32_t n);

/* Drops the cache's lock, then hands the objects slab_flush found to belong to adopted slabs to
 * their slabs' owners' lists (the owner may change again meanwhile: checked under its lock). */
static void unlock_forward(struct slab_cpu *c)
{
    void *f = c->foreign;
    c->foreign = NULL;
    spin_unlock(&c->lock);
    while (f) {
        void *p = f;
        f = *(void **)p;
        struct slab *s = (struct slab *)mem_page_of(p)->owner;
        for (;;) {
            struct slab_cpu *o = __atomic_load_n(&s->cpu, __ATOMIC_ACQUIRE);
            spin_lock(&o->lock);
            if (__atomic_load_n(&s->cpu, __ATOMIC_RELAXED) == o) {
                *(void **)p = o->free;
                o->free = p;
                o->nfree++;
                spin_unlock(&o->lock);
                break;
            }
            spin_unlock(&o->lock);
        }
    }
}

static void *refill_locked(struct slab_cpu *c)
{
    /* Objects other cores gave back come first, then the list, then the depot: what waits in
     * the incoming list is memory nobody can use until this core takes it. */
    if (!c->free)
        take_remote(c);
    if (c->nfree + c->ndepot > c->hiwater) { /* more came back than the cache may keep */
        depot_to_list(c);
        slab_flush(c, c->nfree / 2);
    }
    if (!c->free && c->ndepot) {
        uint32_t k = (uint32_t)(c->end - c->mag) / 2;
        if (k > c->ndepot)
            k = c->ndepot;
        depot_get(c, c->top, k);
        c->top += k;
        return *--c->top;
    }
    if (!c->free) {
        struct slab *s = c->partial;
        if (!s) {
            if (c->spare) {
                s = c->spare;
                c->spare = NULL;
            } else if (!(s = slab_new(c))) {
                return NULL;
            }
            partial_add(c, s);
        }
        if (!s->free && s->nhidden)
            unhide(s);
        if (s->free) {
            /* The slab's whole free list moves to the core's list in O(1). */
            c->free = s->free;
            c->nfree += s->nfree;
            s->inuse += s->nfree;
            s->free = NULL;
            s->nfree = 0;
        } else {
            /* Fresh objects go straight to the array, untouched until used. */
            const struct slab_class *cls = c->cls;
            uint32_t k = (uint32_t)((size_t)(s->end - s->bump) / cls->size);
            uint32_t room = (uint32_t)(c->end - c->top);
            if (k > room)
                k = room;
            for (uint32_t i = 0; i < k; i++)
                c->top[i] = s->bump + (size_t)(k - 1 - i) * cls->size;
            c->top += k;
            s->bump += (size_t)k * cls->size;
            s->inuse += k;
        }
        if (!s->free && s->bump == s->end && !s->nhidden)
            partial_del(c, s);
    }
    list_to_mag(c, (uint32_t)(c->end - c->mag) / 2);
    return *--c->top;
}

void *slab_refill(struct slab_cpu *c)
{
    spin_lock(&c->lock);
    c->slow++;
    void *p = refill_locked(c);
    unlock_forward(c);
    return p;
}

void slab_spill(struct slab_cpu *c, void *p)
{
    spin_lock(&c->lock);
    c->slow++;
    /* The older half of the array goes to the list; the newer (cache-hot) half stays. */
    uint32_t n = (uint32_t)(c->top - c->mag);
    uint32_t k = n / 2;
    if (depot_room(c, k)) {
        depot_put(c, c->mag, k);
    } else {
        void *head = c->free;
        for (uint32_t i = 0; i < k; i++) {
            *(void **)c->mag[i] = head;
            head = c->mag[i];
        }
        c->free = head;
        c->nfree += k;
    }
    memmove(c->mag, c->mag + k, (n - k) * sizeof(void *));
    c->top -= k;
    *c->top++ = p;
    if (c->nfree + c->ndepot > c->hiwater) {
        depot_to_list(c);
        slab_flush(c, c->nfree / 2);
    }
    unlock_forward(c);
}

/* n objects of the list back to their slabs. Caller holds the lock and drops it with
 * unlock_forward: the objects of slabs another cache adopted are only collected here. */
static void slab_flush(struct slab_cpu *c, uint32_t n)
{
    while (n-- && c->free) {
        void *p = c->free;
        c->free = *(void **)p;
        c->nfree--;
        struct slab *s = (struct slab *)mem_page_of(p)->owner;
        /* A slab's owner changes only under the owner's lock: one that is ours stays ours. */
        if (__builtin_expect(__atomic_load_n(&s->cpu, __ATOMIC_RELAXED) != c, 0)) {
            *(void **)p = c->foreign;
            c->foreign = p;
            continue;
        }
        *(void **)p = s->free;
        s->free = p;
        s->nfree++;
        if (--s->inuse == 0)
            slab_release(c, s);
        else if (!s->on_partial)
            partial_add(c, s);
    }
    if (!c->free)
        c->nfree = 0;
}

static void batch_push(struct slab_cpu *t, struct slab_batch *b)
{
    struct slab_batch *old = __atomic_load_n(&t->remote, __ATOMIC_ACQUIRE);
    do {
        b->next = old;
        b->below = old ? old->below + old->n : 0;
    } while (!__atomic_compare_exchange_n(&t->remote, &old, b, true, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
}

/* s, a slab of t, becomes c's. Caller holds both locks. */
static void adopt_slab(struct slab_cpu *c, struct slab_cpu *t, struct slab *s)
{
    if (s->on_partial)
        partial_del(t, s);
    t->slabs--;
    c->slabs++;
    struct mem_page *pg = mem_page_of(s);
    for (size_t i = 0; i < ((size_t)1 << c->cls->order); i++)
        __atomic_store_n(&pg[i].cpu, c, __ATOMIC_RELAXED);
    __atomic_store_n(&s->cpu, c, __ATOMIC_RELEASE);
}

/* The objects of batch b (for t) go back into their slabs, which c adopts; objects of slabs of
 * a third cache stay in the batch, pushed to t as usual (t forwards them). False if t's lock is
 * busy (t is not idle after all). */
static bool adopt_batch(struct slab_cpu *c, struct slab_cpu *t, struct slab_batch *b)
{
    spin_lock(&c->lock); /* ours first, then only a try: no two caches wait on each other */
    if (!spin_trylock(&t->lock)) {
        spin_unlock(&c->lock);
        return false;
    }
    uint32_t left = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        void *p = b->obj[i];
        struct slab *s = (struct slab *)mem_page_of(p)->owner;
        if (s->cpu == t)
            adopt_slab(c, t, s);
        if (s->cpu != c) {
            b->obj[left++] = p;
            continue;
        }
        *(void **)p = s->free;
        s->free = p;
        s->nfree++;
        if (--s->inuse == 0)
            slab_release(c, s);
        else if (!s->on_partial)
            partial_add(c, s);
    }
    spin_unlock(&t->lock);
    b->n = left;
    if (!left)
        batch_keep(c, b);
    spin_unlock(&c->lock);
    if (left)
        batch_push(t, b);
    return true;
}

/* Objects waiting on an owner's incoming stack beyond which, if it also took no slow path,
 * it is taken to be idle: a quarter of what it would keep cached, and at least two batches. */
static uint32_t adopt_mark(const struct slab_class *cls)
{
    uint32_t m = cls->hiwater / 4;
    return m > 2 * cls->rcap ? m : 2 * cls->rcap;
}

void slab_remote_flush(struct slab_cpu *c)
{
    struct slab_batch *b = c->rbatch;
    if (!b)
        return;
    struct slab_cpu *t = c->rtarget;
    c->rbatch = NULL;
    c->rtarget = NULL;
    uint32_t slow = __atomic_load_n(&t->slow, __ATOMIC_RELAXED);
    /* The head may be taken (and its page freed) meanwhile: a stale count only misjudges. */
    struct slab_batch *head = __atomic_load_n(&t->remote, __ATOMIC_ACQUIRE);
    uint32_t waiting = head ? __atomic_load_n(&head->below, __ATOMIC_RELAXED) +
                                  __atomic_load_n(&head->n, __ATOMIC_RELAXED) : 0;
    bool idle = t == c->pushed && slow == c->pushed_slow && waiting >= adopt_mark(c->cls);
    c->pushed = t;
    c->pushed_slow = slow;
    if (idle && t->cls == c->cls && t->off == c->off && adopt_batch(c, t, b))
        return;
    batch_push(t, b);
}

void slab_remote_start(struct slab_cpu *c, struct slab_cpu *owner, void *p)
{
    slab_remote_flush(c);
    spin_lock(&c->lock);
    struct slab_batch *b = c->spares;
    if (b) {
        c->spares = b->next;
        c->nspare--;
    }
    spin_unlock(&c->lock);
    if (!b && !(b = mem_pages_alloc(c->node, 0))) {
        /* No page for a batch: the object goes straight onto the owner's list. */
        spin_lock(&owner->lock);
        *(void **)p = owner->free;
        owner->free = p;
        owner->nfree++;
        spin_unlock(&owner->lock);
        return;
    }
    b->n = 1;
    b->obj[0] = p;
    c->rbatch = b;
    c->rtarget = owner;
    if (b->n >= c->cls->rcap)
        slab_remote_flush(c);
}

/* Everything but the array and the outgoing batch back to the slabs and the page allocator. */
static size_t trim_locked(struct slab_cpu *c)
{
    take_remote(c);
    depot_to_list(c);
    if (c->depot)
        depot_free(c);
    size_t bytes = (size_t)c->nfree * c->cls->size;
    slab_flush(c, UINT32_MAX);
    while (c->spares) {
        struct slab_batch *b = c->spares;
        c->spares = b->next;
        mem_pages_free(b, 0);
    }
    c->nspare = 0;
    if (c->spare) {
        struct slab *s = c->spare;
        c->spare = NULL;
        /* Not on the partial list and empty: give it back (slab_release would re-spare it). */
        slab_pages_free(c, s);
    }
    /* Partial slabs with nothing in use (fresh ones only carved into the list just flushed) go
     * back; the others give back their pages of free objects. */
    for (struct slab *s = c->partial, *next; s; s = next) {
        next = s->next;
        if (s->inuse == 0) {
            partial_del(c, s);
            slab_pages_free(c, s);
        } else {
            release_pages(c, s);
        }
    }
    return bytes;
}

void slab_trim(struct slab_cpu *c)
{
    slab_remote_flush(c);
    spin_lock(&c->lock);
    while (c->top != c->mag) {
        void *p = *--c->top;
        *(void **)p = c->free;
        c->free = p;
        c->nfree++;
    }
    trim_locked(c);
    unlock_forward(c);
}

size_t slab_cached_bytes(const struct slab_cpu *c)
{
    size_t n = __atomic_load_n(&c->ndepot, __ATOMIC_RELAXED) +
               __atomic_load_n(&c->nfree, __ATOMIC_RELAXED);
    /* Objects other cores gave back and the owner has not taken yet: memory too (the count in
     * the list's head may be stale if the owner takes it meanwhile; this is an estimate). */
    struct slab_batch *r = __atomic_load_n(&c->remote, __ATOMIC_ACQUIRE);
    if (r)
        n += __atomic_load_n(&r->below, __ATOMIC_RELAXED) + __atomic_load_n(&r->n, __ATOMIC_RELAXED);
    size_t bytes = n * c->cls->size;
    if (__atomic_load_n(&c->spare, __ATOMIC_RELAXED))
        bytes += MEM_PAGE_SIZE << c->cls->order;
    return bytes;
}

size_t slab_trim_idle(struct slab_cpu *c)
{
    uint32_t slow = __atomic_load_n(&c->slow, __ATOMIC_RELAXED);
    if (slow != c->seen) {
        c->seen = slow;
        return 0;
    }
    if (!slab_cached_bytes(c) && !__atomic_load_n(&c->remote, __ATOMIC_RELAXED))
        return 0;
    /* Never wait for the owner: it is not idle after all. */
    if (!spin_trylock(&c->lock))
        return 0;
    size_t bytes = trim_locked(c);
    unlock_forward(c);
    return bytes;
}

static size_t obj_index(struct slab *s, void *p)
{
    const struct slab_class *cls = s->cls;
    uintptr_t off = (uintptr_t)p - ((uintptr_t)s + cls->data_off);
    if ((uintptr_t)p < (uintptr_t)s + cls->data_off || off % cls->size ||
        (char *)p >= s->bump)
        return SIZE_MAX;
    return off / cls->size;
}

void slab_mark_live(void *p)
{
    struct slab *s = slab_of(p);
    size_t i = obj_index(s, p);
    if (!s || i == SIZE_MAX)
        mem_fatal("mem: slab handed out %p, which is not one of its objects", p);
    uint64_t bit = 1ull << (i % 64);
    uint64_t old = __atomic_fetch_or(&s->live[i / 64], bit, __ATOMIC_RELAXED);
    if (old & bit)
        mem_fatal("mem: slab handed out %p twice (free list corrupted: use after free?)", p);
}

void slab_check_free(struct slab *s, void *p)
{
    size_t i = obj_index(s, p);
    if (i == SIZE_MAX)
        mem_fatal("mem: free(%p): pointer was not returned by the allocator "
                  "(inside a %u-byte object)", p, s->cls->size);
    uint64_t bit = 1ull << (i % 64);
    uint64_t old = __atomic_fetch_and(&s->live[i / 64], ~bit, __ATOMIC_RELAXED);
    if (!(old & bit))
        mem_fatal("mem: free(%p): double free (%u-byte object)", p, s->cls->size);
}
