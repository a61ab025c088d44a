/* The image's network from its configuration, on a platform that has no network interface of
 * its own yet: a clear error. Platforms that have one (hosted: platform/hosted/net_config.c)
 * provide the real net_start_from_config(), which overrides this weak one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/log.h"
#include "core/spinlock.h"
#include "net/net.h"

__attribute__((weak)) ebb_future_t net_start_from_config(void)
{
    ebb_warn("net: this platform has no network interface yet");
    return ebb_future_failed(ENODEV);
}

/* net_image(): one start, however many ask; those who ask while it starts wait together. */
struct image_waiter {
    ebb_promise_t p;
    struct image_waiter *next;
};
static int image_lock;
static bool image_started, image_done;
static int image_err;
static uint64_t image_net;
static struct image_waiter *image_waiters;

static ebb_future_t image_up(void *arg, int err, uint64_t value)
{
    (void)arg;
    spin_lock(&image_lock);
    image_done = true;
    image_err = err;
    image_net = value;
    struct image_waiter *w = image_waiters;
    image_waiters = NULL;
    spin_unlock(&image_lock);
    while (w) {
        struct image_waiter *next = w->next;
        if (err)
            ebb_promise_fail(w->p, err);
        else
            ebb_promise_set(w->p, value);
        free(w);
        w = next;
    }
    return ebb_future_ready(0);
}

ebb_future_t net_image(void)
{
    struct image_waiter *w = malloc(sizeof *w);
    if (!w)
        return ebb_future_failed(ENOMEM);
    ebb_future_t f = ebb_promise_new(&w->p);
    spin_lock(&image_lock);
    bool start = !image_started, done = image_done;
    image_started = true;
    if (!done) {
        w->next = image_waiters;
        image_waiters = w;
    }
    spin_unlock(&image_lock);
    if (done) {
        if (image_err)
            ebb_promise_fail(w->p, image_err);
        else
            ebb_promise_set(w->p, image_net);
        free(w);
    }
    if (start)
        ebb_future_drop(ebb_future_then_full(net_start_from_config(), image_up, NULL));
    return f;
}
