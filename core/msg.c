/* The Messenger's platform-independent half: message buffers, the registry of dispatchers
 * (ebbgen's EBB_MSG_SERVICE entries, gathered by the linker) and the serving of one call frame.
 * The transport (hosted: core/messenger.c) moves frames and calls ebb_msg_serve(). */
#include "core/messenger.h"
#include "core/platform.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

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

void ebb_msg_log(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    platform_console_write(buf, (size_t)n);
}

struct iobuf *ebb_msg_serve(const struct ebb_msg_hdr *h, uint8_t *payload)
{
    struct iobuf *reply = NULL;
    int err = 0;
    const struct ebb_msg_service *s = NULL;
    if (h->type != EBB_MSG_CALL || h->version != EBB_MSG_VERSION) {
        err = EPROTO;
        ebb_msg_log("messenger: frame of type %u version %u from node %u dropped", h->type,
                    h->version, h->src);
    } else if (h->len > EBB_MSG_MAX) {
        err = EMSGSIZE;
        ebb_msg_log("messenger: call of %u bytes from node %u dropped (max %u)", h->len, h->src,
                    EBB_MSG_MAX);
    } else if (!(s = ebb_msg_service_find(h->iface))) {
        err = EPROTO;
        ebb_msg_log("messenger: call from node %u for interface %#llx, which this image does not "
                    "serve (built from a different .ebb.h?)", h->src, (unsigned long long)h->iface);
    } else {
        struct ebb_root *root = h->dst < EBB_MAX_IDS ? ebb_root_of(h->dst) : NULL;
        if (h->dst >= EBB_MAX_IDS || (!root && !EBB_LTT[h->dst])) {
            err = ENOENT;
            ebb_msg_log("messenger: call from node %u to Ebb %#x, which has no root here", h->src,
                        h->dst);
        } else if (root && root->iface && root->iface != h->iface) {
            err = EPROTO;
            ebb_msg_log("messenger: call from node %u to Ebb %#x as %s, but it is bound to %s",
                        h->src, h->dst, s->name, root->name ? root->name : "another interface");
        } else {
            int r = s->dispatch(h->dst, h->method, payload, h->len, &reply);
            if (r < 0) {
                err = -r;
                ebb_msg_log("messenger: call of %s method %u from node %u failed: error %d", s->name,
                            h->method, h->src, err);
            }
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
