/* The Messenger's platform-independent part: message buffers, the registry of dispatchers
 * (ebbgen's EBB_MSG_SERVICE entries, gathered by the linker), the serving of one call frame, and
 * the Messenger Ebb itself (calls, the table of calls awaiting replies, calls to this node). The
 * transport (net/msg_tcp.c: TCP through net.h, on any platform) moves frames between nodes. */
#include "core/messenger.h"
#include "core/platform.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "core/event.h"

#define HDR sizeof(struct ebb_msg_hdr)

extern const struct ebb_msg_service *const __start_ebb_msg_services[] __attribute__((weak));
extern const struct ebb_msg_service *const __stop_ebb_msg_services[] __attribute__((weak));

struct iobuf *ebb_msg_alloc(size_t payload)
{
    if (payload > EBB_MSG_MAX)
        return NULL;
    return iobuf_alloc(sizeof(struct ebb_msg_hdr) + payload, sizeof(struct ebb_msg_hdr));
}

const struct ebb_msg_service *ebb_msg_service_find(uint64_t iface)
{
    for (const struct ebb_msg_service *const *s = __start_ebb_msg_services;
         s && s < __stop_ebb_msg_services; s++)
        if ((*s)->iface == iface)
            return *s;
    return NULL;
}

struct iobuf *ebb_msg_serve(const struct ebb_msg_hdr *h, uint8_t *payload)
{
    struct iobuf *reply = NULL;
    int err = 0;
    const struct ebb_msg_service *s = NULL;
    if (h->type != EBB_MSG_CALL || h->version != EBB_MSG_VERSION) {
        err = EPROTO;
        ebb_debug("messenger: frame of type %u version %u from node %u dropped", h->type,
                    h->version, h->src);
    } else if (h->len > EBB_MSG_MAX) {
        err = EMSGSIZE;
        ebb_debug("messenger: call of %u bytes from node %u dropped (max %u)", h->len, h->src,
                    EBB_MSG_MAX);
    } else if (!(s = ebb_msg_service_find(h->iface))) {
        err = EPROTO;
        ebb_debug("messenger: call from node %u for interface %#llx, which this image does not "
                    "serve (built from a different .ebb.h?)", h->src, (unsigned long long)h->iface);
    } else {
        struct ebb_root *root = ebb_root_of(h->dst);
        /* No root: no interface to check the call against (a rep cached in this core's table
         * is not enough), so nothing is called. */
        if (!root) {
            err = ENOENT;
            ebb_debug("messenger: call from node %u to Ebb %#x, which has no root here", h->src,
                        h->dst);
        } else if (root && root->iface && root->iface != h->iface) {
            err = EPROTO;
            ebb_debug("messenger: call from node %u to Ebb %#x as %s, but it is bound to %s",
                        h->src, h->dst, s->name, root->name ? root->name : "another interface");
        } else {
            int r = s->dispatch(h->dst, h->method, payload, h->len, &reply);
            if (r < 0)
                err = -r; /* logged at debug level by the dispatcher */
        }
    }
    if (err) {
        reply = ebb_msg_alloc(0);
        if (!reply)
            return NULL;
    }
    size_t n = reply->len;
    struct ebb_msg_hdr *rh = (struct ebb_msg_hdr *)(void *)iobuf_prepend(reply, sizeof *rh);
    *rh = (struct ebb_msg_hdr){
        .len = (uint32_t)n, .dst = h->dst, .iface = h->iface, .seq = h->seq, .method = h->method,
        .type = err ? EBB_MSG_ERROR : EBB_MSG_REPLY, .version = EBB_MSG_VERSION,
        .src = (uint16_t)ebb_node(), .err = err,
    };
    return reply;
}

/* ---- the Messenger Ebb: calls, replies, the pending table (the transport is per platform) ---- */

struct pending {
    uint32_t seq;
    unsigned node;
    uint64_t iface;
    ebb_promise_t p;
    ebb_msg_unpack_fn unpack;
    void *arg;
    struct pending *next;
    struct ebb_timer timeout;
};

struct ebb_msg_limits ebb_msg_lim = {
    .call_timeout_ms = 30000, .calls_max = 4096, .queue_max = 16u << 20,
    .frame_timeout_ms = 10000, .serving_max = 256, .hello_timeout_ms = 5000,
};
struct ebb_msg_stats ebb_msg_counters;
static unsigned inflight;                 /* pending calls (on the Messenger's core) */
static uint64_t next_timeout_ms[EBB_MAX_CORES]; /* ebb_msg_timeout_next(), per core */
static uint8_t cluster_key[EBB_MSG_KEY_MAX];
static size_t cluster_key_len;

void ebb_msg_timeout_next(uint64_t ms) { next_timeout_ms[ebb_core()] = ms; }

int ebb_msg_set_key(const void *key, size_t n)
{
    if (n < EBB_MSG_KEY_MIN || n > EBB_MSG_KEY_MAX)
        return -EINVAL;
    memcpy(cluster_key, key, n);
    cluster_key_len = n;
    return 0;
}

const uint8_t *ebb_msg_key(size_t *n)
{
    *n = cluster_key_len;
    return cluster_key_len ? cluster_key : NULL;
}

void ebb_msg_stats(struct ebb_msg_stats *out)
{
#define COPY(n) out->n = __atomic_load_n(&ebb_msg_counters.n, __ATOMIC_RELAXED);
    EBB_MSG_STATS(COPY)
#undef COPY
}

size_t ebb_msg_format_stats(char *buf, size_t len)
{
    struct ebb_msg_stats st;
    ebb_msg_stats(&st);
    size_t o = 0;
    if (len)
        buf[0] = 0;
#define FMT(n) if (st.n && o < len) o += (size_t)snprintf(buf + o, len - o, "%s%s=%llu", o ? " " : "", #n, (unsigned long long)st.n);
    EBB_MSG_STATS(FMT)
#undef FMT
    return o < len ? o : len ? len - 1 : 0;
}

#define NPEND 256
struct mrep {
    const struct messenger *ops;
    unsigned core;            /* the transport's sockets / devices live on this core */
    struct pending *pend[NPEND];
    uint32_t seq;
};
static struct mrep *msgr;     /* this node's (the Ebb is shared: one rep) */
static void (*node_up_fn)(unsigned node);

void ebb_messenger_on_node_up(void (*fn)(unsigned node)) { node_up_fn = fn; }

void ebb_msg_node_up(unsigned node)
{
    if (node_up_fn)
        node_up_fn(node);
}

struct node_down {
    unsigned node;
    int err;
};

static void node_down_event(void *arg)
{
    struct node_down *d = arg;
    ebb_msg_transport_forget(d->node, d->err);
    ebb_msg_node_failed(d->node, d->err); /* calls still waiting for the connection */
    free(d);
}

void ebb_messenger_node_down(unsigned node, int err)
{
    struct node_down *d = malloc(sizeof *d);
    if (!d || !msgr || node >= EBB_MAX_NODES) {
        free(d);
        return;
    }
    *d = (struct node_down){ node, err };
    if (ebb_core() == msgr->core)
        node_down_event(d);
    else
        ebb_spawn_on(msgr->core, node_down_event, d);
}

static void fail_call(ebb_promise_t p, ebb_msg_unpack_fn unpack, void *arg, int err)
{
    uint64_t v = 0;
    if (unpack)
        err = unpack(arg, err, NULL, 0, &v);
    ebb_promise_fail(p, err);
}

/* The pending call seq made to node (any node: node < 0), unlinked; NULL if none. */
static struct pending *pending_take_from(struct mrep *m, uint32_t seq, int node)
{
    for (struct pending **pp = &m->pend[seq % NPEND]; *pp; pp = &(*pp)->next) {
        if ((*pp)->seq == seq && (node < 0 || (*pp)->node == (unsigned)node)) {
            struct pending *pd = *pp;
            *pp = pd->next;
            ebb_timer_cancel(&pd->timeout);
            inflight--;
            return pd;
        }
    }
    return NULL;
}
static struct pending *pending_take(struct mrep *m, uint32_t seq) { return pending_take_from(m, seq, -1); }
static bool pending_exists(struct mrep *m, uint32_t seq)
{
    for (struct pending *pd = m->pend[seq % NPEND]; pd; pd = pd->next)
        if (pd->seq == seq)
            return true;
    return false;
}

void ebb_msg_reply_received(unsigned from, const struct ebb_msg_hdr *h, const uint8_t *payload)
{
    /* Only the node the call went to may answer it: a reply from any other connection (a
     * stranger guessing sequence numbers, another node) leaves the call pending. */
    struct pending *pd = msgr ? pending_take_from(msgr, h->seq, (int)from) : NULL;
    if (!pd) {
        if (!msgr || !pending_exists(msgr, h->seq))
            EBB_MSG_STAT(replies_unknown);
        else
            EBB_MSG_STAT(replies_wrong_node);
        ebb_debug("messenger: reply from node %u to call %u dropped (unknown, or not its call)",
                  from, h->seq);
        return;
    }
    int err = 0;
    if (h->iface != pd->iface || (h->type != EBB_MSG_REPLY && h->type != EBB_MSG_ERROR))
        err = EPROTO; /* ERROR frames too: they must name the call's interface */
    else if (h->type == EBB_MSG_ERROR)
        err = h->err > 0 ? h->err : EPROTO;
    uint64_t v = 0;
    if (pd->unpack)
        err = pd->unpack(pd->arg, err, err ? NULL : payload, err ? 0 : h->len, &v);
    else if (!err && h->len != 8)
        err = EBADMSG;
    else if (!err)
        memcpy(&v, payload, 8);
    if (err)
        ebb_promise_fail(pd->p, err);
    else
        ebb_promise_set(pd->p, v);
    free(pd);
}

/* Fails the pending calls made to node (every node: node < 0). */
static void fail_pending(int node, int err)
{
    if (!msgr)
        return;
    for (unsigned i = 0; i < NPEND; i++) {
        for (struct pending **pp = &msgr->pend[i]; *pp;) {
            struct pending *pd = *pp;
            if (node < 0 || pd->node == (unsigned)node) {
                *pp = pd->next;
                ebb_timer_cancel(&pd->timeout);
                inflight--;
                fail_call(pd->p, pd->unpack, pd->arg, err);
                free(pd);
            } else {
                pp = &pd->next;
            }
        }
    }
}

void ebb_msg_node_failed(unsigned node, int err) { fail_pending((int)node, err); }

struct fwd {
    struct mrep *m;
    uint64_t timeout_ms;
    unsigned node, method;
    ebb_id_t id;
    uint64_t iface;
    struct iobuf *args;
    ebb_msg_unpack_fn unpack;
    void *arg;
    ebb_promise_t p;
};

static void call_timed_out(void *arg)
{
    struct pending *pd = arg;
    struct pending *mine = msgr ? pending_take(msgr, pd->seq) : NULL;
    if (mine != pd) /* cannot happen: a reply or a failure cancels the timer */
        return;
    EBB_MSG_STAT(call_timeouts);
    ebb_debug("messenger: call %u to node %u timed out", pd->seq, pd->node);
    fail_call(pd->p, pd->unpack, pd->arg, ETIMEDOUT);
    free(pd);
}

static void do_call(struct fwd *f)
{
    struct mrep *m = f->m;
    if (!f->args || iobuf_headroom(f->args) < HDR || f->args->len > EBB_MSG_MAX
        || f->node >= EBB_MAX_NODES) {
        iobuf_free(f->args);
        fail_call(f->p, f->unpack, f->arg, EINVAL);
        return;
    }
    if (inflight >= ebb_msg_lim.calls_max) {
        EBB_MSG_STAT(calls_refused_inflight);
        iobuf_free(f->args);
        fail_call(f->p, f->unpack, f->arg, ENOBUFS);
        return;
    }
    EBB_MSG_STAT(calls);
    uint32_t seq = ++m->seq;
    struct ebb_msg_hdr h = {
        .len = (uint32_t)f->args->len, .dst = f->id, .iface = f->iface, .seq = seq,
        .method = (uint16_t)f->method, .type = EBB_MSG_CALL, .version = EBB_MSG_VERSION,
        .src = (uint16_t)ebb_node(),
    };
    struct pending *pd = malloc(sizeof *pd);
    if (!pd) {
        iobuf_free(f->args);
        fail_call(f->p, f->unpack, f->arg, ENOMEM);
        return;
    }
    *pd = (struct pending){ seq, f->node, f->iface, f->p, f->unpack, f->arg, m->pend[seq % NPEND],
                            {0} };
    m->pend[seq % NPEND] = pd;
    inflight++;
    if (f->timeout_ms)
        ebb_timer_start(&pd->timeout, f->timeout_ms * 1000000ull, call_timed_out, pd);
    if (f->node == ebb_node()) {
        /* A call to this node: served here, through the same marshalling. */
        struct iobuf *r = ebb_msg_serve(&h, f->args->data);
        iobuf_free(f->args);
        if (!r) {
            ebb_msg_node_failed(f->node, ENOMEM);
            return;
        }
        struct ebb_msg_hdr rh;
        memcpy(&rh, r->data, HDR);
        ebb_msg_reply_received(f->node, &rh, r->data + HDR);
        iobuf_free(r);
        return;
    }
    memcpy(iobuf_prepend(f->args, HDR), &h, HDR);
    int err = ebb_msg_transport_send(f->node, f->args);
    if (err < 0) {
        struct pending *mine = pending_take(m, seq);
        if (mine) {
            fail_call(mine->p, mine->unpack, mine->arg, -err);
            free(mine);
        }
    }
}

static void fwd_event(void *arg)
{
    do_call(arg);
    free(arg);
}

static ebb_future_t m_call(void *self, unsigned node, ebb_id_t id, uint64_t iface, unsigned method,
                           struct iobuf *args, ebb_msg_unpack_fn unpack, void *arg)
{
    struct mrep *m = self;
    ebb_promise_t p;
    ebb_future_t fut = ebb_promise_new(&p);
    uint64_t *nt = &next_timeout_ms[ebb_core()];
    uint64_t t = *nt ? *nt : ebb_msg_lim.call_timeout_ms;
    *nt = 0;
    struct fwd f = { m, t, node, method, id, iface, args, unpack, arg, p };
    /* A call to this node is served as its own event, as one from another node would be: the
     * caller goes on (it may be the one to complete a future the method waits for). */
    if (ebb_core() == m->core && node != ebb_node()) {
        do_call(&f);
        return fut;
    }
    struct fwd *w = malloc(sizeof *w);
    if (!w) {
        iobuf_free(args);
        fail_call(p, unpack, arg, ENOMEM);
        return fut;
    }
    *w = f;
    ebb_spawn_on(m->core, fwd_event, w);
    return fut;
}

static int m_listen(void *self, const char *addr, uint16_t port)
{
    struct mrep *m = self;
    if (ebb_core() != m->core)
        return -EPERM; /* setup belongs on the Messenger's core */
    return port ? ebb_msg_transport_listen(addr ? addr : "127.0.0.1", port) : 0;
}

static int32_t m_peer(void *self, uint32_t node, const char *addr, uint16_t port)
{
    struct mrep *m = self;
    if (ebb_core() != m->core)
        return -EPERM; /* setup belongs on the Messenger's core */
    if (node >= EBB_MAX_NODES || !addr || !port)
        return -EINVAL;
    return ebb_msg_transport_peer(node, addr, port);
}

static void m_stop(void *self)
{
    struct mrep *m = self;
    if (ebb_core() != m->core)
        return;
    ebb_msg_transport_stop();
    fail_pending(-1, ECONNRESET);
}

static int32_t m_node_down(void *self, uint32_t node)
{
    (void)self;
    if (node >= EBB_MAX_NODES || node == ebb_node())
        return -EINVAL;
    ebb_messenger_node_down(node, EBB_ENODEDOWN);
    return 0;
}

static const struct messenger messenger_ops = {
    .call = m_call, .listen = m_listen, .peer = m_peer, .stop = m_stop, .node_down = m_node_down,
};

static void *messenger_create(struct ebb_root *root, unsigned core)
{
    (void)root;
    struct mrep *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->ops = &messenger_ops;
    m->core = core;
    msgr = m;
    return m;
}

MESSENGER_ROOT(ebb_messenger_root, messenger_create);

/* The decimal number in [s, end), digits only, at most max (no wrap: strtoul would take
 * 4294967297 as 1 once cast to unsigned). */
static int dec_field(const char *s, const char *end, unsigned max, unsigned *out)
{
    uint64_t v = 0;
    if (s == end)
        return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int ebb_msg_parse_peers(const char *peers,
                        int (*fn)(void *arg, unsigned node, const char *addr, uint16_t port),
                        void *arg)
{
    char buf[1024];
    if (strlen(peers) >= sizeof buf) {
        ebb_warn("messenger: peers= is too long");
        return -EINVAL;
    }
    strcpy(buf, peers);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        unsigned n, port;
        char *at = strchr(w, '@'), *colon = at ? strrchr(at, ':') : NULL;
        if (!at || !colon || dec_field(w, at, EBB_MAX_NODES - 1, &n) ||
            dec_field(colon + 1, colon + strlen(colon), 65535, &port) || port == 0 ||
            colon - at - 1 >= 64) {
            ebb_warn("messenger: peers=: '%s' is not NODE@ADDR:PORT", w);
            return -EINVAL;
        }
        char addr[64];
        memcpy(addr, at + 1, (size_t)(colon - at - 1));
        addr[colon - at - 1] = 0;
        if (fn(arg, n, addr, (uint16_t)port) < 0) {
            ebb_warn("messenger: peers=: '%s' is not NODE@ADDR:PORT", w);
            return -EINVAL;
        }
    }
    return 0;
}

static int add_peer(void *arg, unsigned node, const char *addr, uint16_t port)
{
    (void)arg;
    return ebb_messenger_peer(node, addr, port);
}

int ebb_messenger_configure(void)
{
    long node = ebb_config_int("node", 0, 0, EBB_MAX_NODES - 1);
    ebb_set_node((unsigned)node);
    const char *peers = ebb_config_get("peers");
    if (peers && ebb_msg_parse_peers(peers, add_peer, NULL) < 0)
        return -EINVAL;
    struct ebb_msg_limits *l = &ebb_msg_lim;
    l->call_timeout_ms = (uint64_t)ebb_config_int("call_timeout_ms", (long)l->call_timeout_ms, 0, 86400000);
    l->calls_max = (unsigned)ebb_config_int("msg_calls_max", l->calls_max, 1, 1 << 20);
    l->queue_max = (size_t)ebb_config_int("msg_queue_max", (long)l->queue_max, 4096, 1l << 34);
    l->frame_timeout_ms = (uint64_t)ebb_config_int("msg_frame_timeout_ms", (long)l->frame_timeout_ms, 1, 3600000);
    l->serving_max = (unsigned)ebb_config_int("msg_serving_max", l->serving_max, 1, 1 << 16);
    l->hello_timeout_ms = (uint64_t)ebb_config_int("msg_hello_timeout_ms", (long)l->hello_timeout_ms, 1, 3600000);
    const char *kf = ebb_config_get("key_file");
    if (kf) {
        uint8_t key[EBB_MSG_KEY_MAX];
        int n = platform_read_key(kf, key, sizeof key);
        if (n < 0 || ebb_msg_set_key(key, (size_t)n) < 0) {
            ebb_warn("messenger: key_file=%s: %s (%d)", kf,
                     n == -EPERM ? "other users can read it: chmod 600 it"
                     : n < 0 ? "cannot read it" : "a cluster key is 16 to 256 bytes", n);
            memset(key, 0, sizeof key);
            return -EINVAL;
        }
        memset(key, 0, sizeof key);
    }
    const char *cl = ebb_config_get("cluster");
    if (cl) {
        unsigned cport;
        char net[20];
        const char *colon = strrchr(cl, ':');
        if (!colon || colon - cl >= (long)sizeof net ||
            dec_field(colon + 1, colon + strlen(colon), 65535, &cport) || cport == 0 ||
            (memcpy(net, cl, (size_t)(colon - cl)), net[colon - cl] = 0,
             ebb_msg_transport_cluster(net, (uint16_t)cport) < 0)) {
            ebb_warn("messenger: cluster=%s: expected A.B.C.D:PORT", cl);
            return -EINVAL;
        }
    }
    long port = ebb_config_int("listen", 0, 0, 65535);
    int err = ebb_messenger_listen(ebb_config_str("listen_addr", "127.0.0.1"), (uint16_t)port);
    long front = ebb_config_int("front", 0, 0, EBB_MAX_NODES - 1);
    if (!err && cl && ebb_node() != (unsigned)front)
        err = ebb_msg_transport_connect((unsigned)front);
    return err;
}
