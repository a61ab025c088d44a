/* Who owns an IOBuf after a failed send (docs/network.md): the callee, always. A connection
 * implementation whose send fails frees what it was given; net/api.c must not free it again
 * (it did: a double free, then a use-after-free with netif=linux when a peer reset). */
#include <errno.h>
#include <string.h>
#include "net/api.h"
#include "tap.h"

static int sends, fail_sends;
static size_t win = 10;

static size_t f_window(struct tcp_conn *c) { (void)c; return win; }
/* Like both real implementations: the data is taken whatever happens. */
static int f_send(struct tcp_conn *c, struct iobuf *data)
{
    (void)c;
    sends++;
    iobuf_free(data);
    return fail_sends ? -ENOMEM : 0;
}
static void f_close(struct tcp_conn *c) { (void)c; }
static void f_abort(struct tcp_conn *c) { (void)c; }
static int f_bind(struct tcp_conn *c, unsigned core) { (void)c, (void)core; return 0; }
static void f_addrs(const struct tcp_conn *c, ip4_t *a, uint16_t *b, ip4_t *d, uint16_t *e)
{
    (void)c, (void)a, (void)b, (void)d, (void)e;
}
static void f_release(struct tcp_conn *c) { (void)c; }
static const struct tcp_conn_ops f_ops = {f_window, f_send, f_close, f_abort, f_bind, f_addrs,
                                          f_release};

static struct iobuf *bytes(size_t n)
{
    struct iobuf *b = iobuf_alloc(n, 0);
    memset(iobuf_append(b, n), 'x', n);
    return b;
}

int main(void)
{
    tap_plan(6);
    struct tcp_conn c;
    tcp_conn_init(&c, &f_ops, 0);
    fail_sends = 1;
    is(tcp_send_buffered(&c, bytes(25)), 0, "tcp_send_buffered takes the data");
    is(sends, 1, "the part that fit was sent once; its failure freed it in the callee only");
    is(tcp_buffered(&c), 15, "the rest stays queued");
    fail_sends = 0;
    tcp_deliver_window(&c);
    ok(tcp_buffered(&c) == 0 && sends == 3, "the window opening sends the rest, in two parts");
    struct iobuf *big = bytes(50);
    is(tcp_send(&c, big), -EMSGSIZE, "tcp_send past the window: -EMSGSIZE, the data still ours");
    iobuf_free(big); /* ours: freeing it must be right (ASan would see a double free otherwise) */
    tcp_abort(&c);
    struct tcp_conn d;
    tcp_conn_init(&d, &f_ops, 0);
    tcp_close(&d);
    struct iobuf *late = bytes(3);
    is(tcp_send(&d, late), -EPIPE, "tcp_send after close: -EPIPE, the data still ours");
    iobuf_free(late);
    return tap_done(1);
}
