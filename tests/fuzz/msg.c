/* Fuzz target: Messenger frames. A call frame (header and payload from the input) is served by
 * the generated dispatchers of tests/gen/sample.ebb.h, as if it came from another node; and a
 * reply frame from the input answers a call this node made (the generated reply unpacking of
 * each method). The transport is a stand-in that keeps the seq of the call it was given. */
#include <errno.h>
#include <string.h>
#include "core/event.h"
#include "core/messenger.h"
#include "tests/fuzz/harness.h"
#include "tests/gen/sample.gen.h"
#include "tests/sample_rep.h"

static ebb_id_t sid;
static uint32_t last_seq;
static uint64_t last_iface;

int ebb_msg_transport_send(unsigned node, struct iobuf *frame)
{
    (void)node;
    struct ebb_msg_hdr h;
    iobuf_copy_out(frame, 0, &h, sizeof h);
    last_seq = h.seq;
    last_iface = h.iface;
    iobuf_free(frame);
    return 0;
}
int ebb_msg_transport_listen(const char *addr, uint16_t port) { (void)addr, (void)port; return 0; }
int ebb_msg_transport_peer(unsigned node, const char *addr, uint16_t port)
{
    (void)node, (void)addr, (void)port;
    return 0;
}
void ebb_msg_transport_stop(void) {}
void ebb_msg_transport_forget(unsigned node, int err) { (void)node, (void)err; }
int ebb_msg_transport_cluster(const char *net, uint16_t port) { (void)net, (void)port; return 0; }
int ebb_msg_transport_connect(unsigned node) { (void)node; return 0; }

void fuzz_init(void)
{
    sid = ebb_id_alloc();
    ebb_bind(sid, &sample_root);
}

static uint8_t outbuf[64];
static int64_t inout[8];
static uint32_t vals[4] = {1, 2, 3, 4};

/* A call to node 1 by one of the remote methods; its reply is then the input's. */
static ebb_future_t call(unsigned which)
{
    switch (which % 7) {
    case 0: return sample_later_at(1, sid, 5);
    case 1: return sample_add_at(1, sid, 7, -1, true);
    case 2: return sample_put_at(1, sid, "key", 3, vals, 4);
    case 3: return sample_get_at(1, sid, "name", outbuf, sizeof outbuf);
    case 4: return sample_scale_at(1, sid, inout, 8, (struct point){1, 2, {0}}, GREEN);
    case 5: return sample_ping_at(1, sid);
    default: return sample_put_at(1, sid, NULL, 0, NULL, 0);
    }
}

int fuzz_one(const uint8_t *data, size_t n)
{
    struct fuzz_in in = {data, n};
    uint8_t mode = fin_u8(&in);
    struct ebb_msg_hdr h;
    const uint8_t *src;
    memset(&h, 0, sizeof h);
    memcpy(&h, in.p, in.n < sizeof h ? in.n : sizeof h);
    fin_take(&in, sizeof h, &src);
    /* The payload: 8-aligned and writable, as the transport hands it over. */
    static uint64_t payload[8192];
    size_t plen = fin_take(&in, sizeof payload, &src);
    memcpy(payload, src, plen);
    if (mode & 1) {
        h.len = (uint32_t)plen;
        h.type = EBB_MSG_CALL;
        h.version = EBB_MSG_VERSION;
        h.dst = (mode & 2) ? sid : h.dst;
        if (mode & 4)
            h.iface = SAMPLE_IFACE;
        struct iobuf *r = ebb_msg_serve(&h, (uint8_t *)payload);
        iobuf_free(r);
        fuzz_advance_ns(2000000000ull); /* an asynchronous method completes (within 1 s) */
        fuzz_settle();
        return 0;
    }
    ebb_future_t f = call(mode >> 1);
    h.seq = last_seq;
    h.len = (uint32_t)plen;
    if (mode & 2)
        h.iface = last_iface;
    if (mode & 4)
        h.type = EBB_MSG_REPLY;
    ebb_msg_reply_received(1, &h, (const uint8_t *)payload);
    uint64_t v;
    int err;
    if (!ebb_future_try(f, &err, &v)) { /* not answered (the header did not match): fail it */
        ebb_msg_node_failed(1, ECONNRESET);
        ebb_future_drop(f);
    }
    return 0;
}
