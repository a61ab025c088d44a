/* The stack's keys of the image configuration, the same on every platform, and net_image().
 * Each platform provides net_start_from_config() (platform/hosted/net_config.c,
 * platform/native/virtio_net.c): one that lacks it fails to link. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/spinlock.h"
#include "net/net.h"
#include "net/stack.h"

int net_config_read(struct net_stack_config *cfg)
{
    *cfg = (struct net_stack_config){.home_core = ebb_core()};
    const char *ip = ebb_config_get("ip"), *gw = ebb_config_get("gw");
    if (ip && ip4_parse_cidr(ip, &cfg->ip, &cfg->prefix)) {
        ebb_warn("net: ip=%s: expected A.B.C.D/N", ip);
        return -EINVAL;
    }
    if (gw && (!ip || ip4_parse(gw, &cfg->gw))) {
        ebb_warn("net: gw=%s: expected A.B.C.D, with ip=", gw);
        return -EINVAL;
    }
    cfg->rto_min_ms = (unsigned)ebb_config_int("rto_min_ms", 200, 1, 60000);
    cfg->sack = ebb_config_int("sack", 0, 0, 1);
    return 0;
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

int net_image_use(struct net *n)
{
    spin_lock(&image_lock);
    bool started = image_started;
    if (!started) {
        image_started = image_done = true;
        image_net = (uint64_t)(uintptr_t)n;
    }
    spin_unlock(&image_lock);
    return started ? -EBUSY : 0;
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
