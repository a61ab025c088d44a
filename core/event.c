/* The per-core event loop, spawn, idle handlers and timers. */
#include "core/event.h"
#include "core/context.h"
#include "core/ebb.h"
#include "core/platform.h"
#include "core/spinlock.h"
#include <stdlib.h>

struct event {
    ebb_fn fn;
    void *arg;
    struct event *next;
};

/* One per core, on its own cache lines. Only `remote*` and `sleeping` are touched by other cores. */
struct core_state {
    struct event *head, *tail;       /* local FIFO */
    struct event *free;              /* recycled events */
    unsigned nfree;
    struct ebb_timer **heap;         /* min-heap on deadline, 1-based */
    unsigned nheap, heapcap;
    uint64_t seq;                    /* keeps equal deadlines in start order */
    struct ebb_idle *idle;
    bool in_loop;
    int remote_lock __attribute__((aligned(64)));
    struct event *rhead, *rtail;
    int sleeping;
} __attribute__((aligned(64)));

static struct core_state cs[EBB_MAX_CORES];

#define SPIN_BEFORE_SLEEP_NS 20000
#define SPIN_POLL_NS 4000 /* how often the spin also polls fds / interrupts */
static unsigned n_cores = 1, n_numa = 1;
static int exiting, exit_code;

void ebb_topology_set(unsigned ncores, unsigned numa_nodes)
{
    n_cores = ncores;
    n_numa = numa_nodes ? numa_nodes : 1;
}
unsigned ebb_ncores(void) { return n_cores; }
unsigned ebb_numa_nodes(void) { return n_numa; }
/* Cores are split into contiguous groups, one per NUMA node. */
unsigned ebb_numa_node_of(unsigned core) { return core * n_numa / n_cores; }

bool ebb_in_event_loop(void)
{
    unsigned c = ebb_core();
    return c < EBB_MAX_CORES && cs[c].in_loop;
}

/* This core's state; calls that only make sense on a core stop a foreign thread clearly. */
static struct core_state *me(const char *what)
{
    unsigned c = ebb_core();
    if (c >= n_cores)
        ebb_panic("%s called from a thread that is not a core", what);
    return &cs[c];
}

static struct event *event_get(ebb_fn fn, void *arg)
{
    unsigned c = ebb_core();
    struct event *e;
    if (c < EBB_MAX_CORES && cs[c].free) {
        e = cs[c].free;
        cs[c].free = e->next;
        cs[c].nfree--;
    } else if (!(e = malloc(sizeof *e))) {
        ebb_panic("spawn: out of memory");
    }
    e->fn = fn;
    e->arg = arg;
    e->next = NULL;
    return e;
}

static void event_put(struct core_state *s, struct event *e)
{
    if (s->nfree >= 1024) {
        free(e);
        return;
    }
    e->next = s->free;
    s->free = e;
    s->nfree++;
}

void ebb_spawn(ebb_fn fn, void *arg)
{
    struct core_state *s = me("ebb_spawn");
    struct event *e = event_get(fn, arg);
    if (s->tail)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
}

void ebb_spawn_on(unsigned core, ebb_fn fn, void *arg)
{
    if (core >= n_cores)
        ebb_panic("ebb_spawn_on: no core %u (%u cores)", core, n_cores);
    if (core == ebb_core()) {
        ebb_spawn(fn, arg);
        return;
    }
    struct core_state *s = &cs[core];
    struct event *e = event_get(fn, arg);
    spin_lock(&s->remote_lock);
    if (s->rtail)
        s->rtail->next = e;
    else
        s->rhead = e;
    s->rtail = e;
    spin_unlock(&s->remote_lock);
    /* Pairs with the fence in the loop before it sleeps: either it sees the event or we see it
     * sleeping and wake it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->sleeping, __ATOMIC_RELAXED))
        platform_wake(core);
}

void ebb_idle_add(struct ebb_idle *h)
{
    struct core_state *s = me("ebb_idle_add");
    h->next = s->idle;
    s->idle = h;
}

void ebb_idle_remove(struct ebb_idle *h)
{
    for (struct ebb_idle **pp = &me("ebb_idle_remove")->idle; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            return;
        }
    }
}

/* ---- timers: a binary min-heap per core ---- */

uint64_t ebb_now_ns(void) { return platform_now_ns(); }


static bool timer_before(const struct ebb_timer *a, const struct ebb_timer *b)
{
    return a->deadline_ns < b->deadline_ns ||
           (a->deadline_ns == b->deadline_ns && a->seq_ < b->seq_);
}

static void heap_set(struct core_state *s, unsigned i, struct ebb_timer *t)
{
    s->heap[i] = t;
    t->heap_index_ = i;
}

static void heap_up(struct core_state *s, unsigned i)
{
    struct ebb_timer *t = s->heap[i];
    while (i > 1 && timer_before(t, s->heap[i / 2])) {
        heap_set(s, i, s->heap[i / 2]);
        i /= 2;
    }
    heap_set(s, i, t);
}

static void heap_down(struct core_state *s, unsigned i)
{
    struct ebb_timer *t = s->heap[i];
    for (;;) {
        unsigned c = 2 * i;
        if (c > s->nheap)
            break;
        if (c + 1 <= s->nheap && timer_before(s->heap[c + 1], s->heap[c]))
            c++;
        if (!timer_before(s->heap[c], t))
            break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, t);
}

void ebb_timer_start_at(struct ebb_timer *t, uint64_t deadline_ns, ebb_fn fn, void *arg)
{
    struct core_state *s = me("ebb_timer_start");
    if (t->heap_index_)
        ebb_timer_cancel(t);
    if (s->nheap + 1 >= s->heapcap) {
        unsigned cap = s->heapcap ? s->heapcap * 2 : 64;
        struct ebb_timer **h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            ebb_panic("timer: out of memory");
        s->heap = h;
        s->heapcap = cap;
    }
    t->deadline_ns = deadline_ns;
    t->fn = fn;
    t->arg = arg;
    t->seq_ = s->seq++;
    s->heap[++s->nheap] = t;
    heap_up(s, s->nheap);
}

void ebb_timer_start(struct ebb_timer *t, uint64_t delay_ns, ebb_fn fn, void *arg)
{
    ebb_timer_start_at(t, platform_now_ns() + delay_ns, fn, arg);
}

bool ebb_timer_cancel(struct ebb_timer *t)
{
    unsigned i = t->heap_index_;
    if (!i)
        return false;
    struct core_state *s = me("ebb_timer_cancel");
    t->heap_index_ = 0;
    struct ebb_timer *last = s->heap[s->nheap--];
    if (i <= s->nheap) {
        heap_set(s, i, last);
        heap_up(s, i);
        heap_down(s, last->heap_index_);
    }
    return true;
}

/* Runs the timers that are due; returns how many. */
static int run_timers(struct core_state *s)
{
    if (!s->nheap)
        return 0;
    uint64_t now = platform_now_ns();
    int n = 0;
    while (s->nheap && s->heap[1]->deadline_ns <= now) {
        struct ebb_timer *t = s->heap[1];
        ebb_timer_cancel(t);
        t->fn(t->arg); /* may re-arm t */
        n++;
    }
    return n;
}

/* ---- the loop ---- */

void ebb_exit(int code)
{
    if (__atomic_exchange_n(&exiting, 1, __ATOMIC_SEQ_CST))
        return;
    exit_code = code;
    for (unsigned c = 0; c < n_cores; c++)
        if (c != ebb_core())
            platform_wake(c);
    platform_exit(code);
}

int ebb_exit_code(void) { return exit_code; }

static bool take_remote(struct core_state *s)
{
    if (!__atomic_load_n(&s->rhead, __ATOMIC_RELAXED))
        return false;
    spin_lock(&s->remote_lock);
    struct event *h = s->rhead, *t = s->rtail;
    s->rhead = s->rtail = NULL;
    spin_unlock(&s->remote_lock);
    if (!h)
        return false;
    if (s->tail)
        s->tail->next = h;
    else
        s->head = h;
    s->tail = t;
    return true;
}

/* Spins for SPIN_BEFORE_SLEEP_NS waiting for a remote spawn, polling the platform now and then;
 * returns true if work arrived. */
static bool spin_before_sleep(struct core_state *s)
{
    uint64_t now = platform_now_ns(), until = now + SPIN_BEFORE_SLEEP_NS, poll_at = now + SPIN_POLL_NS;
    if (s->nheap && s->heap[1]->deadline_ns < until)
        until = s->heap[1]->deadline_ns;
    while (now < until) {
        if (__atomic_load_n(&s->rhead, __ATOMIC_RELAXED))
            return true;
        if (now >= poll_at) {
            if (platform_poll() > 0 || s->head)
                return true;
            poll_at = now + SPIN_POLL_NS;
        }
        ebb_cpu_relax();
        now = platform_now_ns();
    }
    return __atomic_load_n(&s->rhead, __ATOMIC_RELAXED) != NULL;
}

/* Nothing on this stack survives an event that blocks: the loop may be resumed on another stack,
 * so all its state is in cs[]. */
void ebb_loop_run(void)
{
    struct core_state *s = &cs[ebb_core()];
    s->in_loop = true;
    unsigned since_poll = 0;
    while (!__atomic_load_n(&exiting, __ATOMIC_ACQUIRE)) {
        s = &cs[ebb_core()];
        run_timers(s);
        take_remote(s); /* every pass: a core that keeps spawning locally must not starve others */
        struct event *e = s->head;
        if (e) {
            s->head = e->next;
            if (!s->head)
                s->tail = NULL;
            ebb_fn fn = e->fn;
            void *arg = e->arg;
            event_put(s, e); /* before running: fn may never return to this stack */
            fn(arg);
            if (++since_poll < 32)
                continue;
        }
        since_poll = 0;
        bool busy = platform_poll() > 0;
        for (struct ebb_idle *h = s->idle, *next; h; h = next) {
            next = h->next; /* a handler may remove itself */
            busy |= h->fn(h->arg);
        }
        if (busy || s->head)
            continue;
        /* Poll a little before sleeping: waking a sleeping core costs far more (tens of us on
         * this kind of VM) than the remote spawn or fd event that often arrives meanwhile. */
        if (spin_before_sleep(s))
            continue;
        __atomic_store_n(&s->sleeping, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&s->rhead, __ATOMIC_RELAXED) && !__atomic_load_n(&exiting, __ATOMIC_RELAXED))
            platform_wait(s->nheap ? s->heap[1]->deadline_ns : UINT64_MAX);
        __atomic_store_n(&s->sleeping, 0, __ATOMIC_RELAXED);
    }
}

/* Frees what the loop of this core owns, after it has stopped. */
void ebb_event_core_cleanup(void)
{
    struct core_state *s = &cs[ebb_core()];
    s->in_loop = false;
    take_remote(s);
    for (struct event *e = s->head, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    for (struct event *e = s->free, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    s->head = s->tail = s->free = NULL;
    s->nfree = 0;
    free(s->heap);
    s->heap = NULL;
    s->nheap = s->heapcap = 0;
}
