/* Hosted: every Linux thread gets its own general-purpose allocator rep (the stand-in for a
 * core), made on its first allocation. Threads are preemptible and may outnumber cores, so a
 * rep shared between threads would need locks; one per thread keeps the lock-free fast path
 * correct. When a thread ends its rep is trimmed and pooled for the next thread. */
#include "mem/gp.h"
#include <pthread.h>

/* Until a thread has its rep it points at this empty one, on which every fast path fails (no
 * object to pop, no page owned), so the fast paths need no NULL test. */
struct gp gp_none = { .small = { [0 ... GP_SMALL_SLOTS - 1] = &gp_none.cls[0] } };
__thread struct gp *mem_self_gp __attribute__((tls_model("initial-exec"))) = &gp_none;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void thread_ends(void *v)
{
    mem_self_gp = &gp_none;
    gp_release(v);
}

static void make_key(void)
{
    if (pthread_key_create(&key, thread_ends) != 0)
        mem_fatal("mem: pthread_key_create failed");
    /* A child of fork() must not inherit a lock that another thread held at the time. */
    pthread_atfork(gp_fork_lock, gp_fork_unlock, gp_fork_unlock);
}

struct gp *gp_self_slow(void)
{
    pthread_once(&once, make_key);
    struct gp *g = gp_acquire(0);
    if (!g)
        mem_fatal("mem: out of memory for a thread's allocator");
    mem_self_gp = g; /* before setspecific, which may allocate */
    pthread_setspecific(key, g);
    return g;
}

struct gp *gp_self(void)
{
    struct gp *g = mem_self_gp;
    return __builtin_expect(g != &gp_none, 1) ? g : gp_self_slow();
}
