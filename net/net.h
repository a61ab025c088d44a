/* The application's network API: event-driven, no socket buffers. One source runs over this
 * project's own stack (net/, over any network interface Ebb) or, hosted, over Linux sockets.
 *
 * TCP: listen with an accept handler, or connect (a future of the connection). Handlers run on
 * the core that owns the connection. `receive` is passed an IOBuf chain the application now owns.
 * tcp_send() must fit tcp_send_window() (the stack keeps only what is unacknowledged, for
 * retransmission); tcp_send_buffered() queues what does not fit and sends it as the window opens.
 *
 * Lifetime of a tcp_conn: after `aborted` (or tcp_abort()) the handle is gone. Otherwise it lives
 * until both the application called tcp_close() and `closed` (the peer's FIN) was delivered; the
 * stack finishes the protocol (FIN retransmission, TIME_WAIT) on its own. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/future.h"
#include "core/iobuf.h"

typedef uint32_t ip4_t; /* host byte order */
#define IP4(a, b, c, d) ((ip4_t)(a) << 24 | (ip4_t)(b) << 16 | (ip4_t)(c) << 8 | (ip4_t)(d))
/* Parses "a.b.c.d"; returns 0 or -1. */
int ip4_parse(const char *s, ip4_t *out);
/* Parses "a.b.c.d/n"; returns 0 or -1. */
int ip4_parse_cidr(const char *s, ip4_t *out, unsigned *prefix);
/* Formats into buf (at least 16 bytes); returns buf. */
char *ip4_format(ip4_t a, char *buf);

struct net;
struct tcp_conn;
struct tcp_listener;
struct udp_sock;

struct tcp_handlers {
    void (*connected)(void *arg, struct tcp_conn *c);
    void (*receive)(void *arg, struct tcp_conn *c, struct iobuf *data);
    void (*closed)(void *arg, struct tcp_conn *c);            /* the peer sent FIN */
    void (*aborted)(void *arg, struct tcp_conn *c, int err);  /* RST, timeout: handle is gone */
    void (*window_opened)(void *arg, struct tcp_conn *c);     /* tcp_send_window() grew */
};
/* Runs on the new connection's core: set handlers (tcp_set_handlers) here; tcp_bind_core may
 * move the connection to another core before any data is handled. */
typedef void (*tcp_accept_fn)(void *arg, struct tcp_conn *c);

struct tcp_listener *tcp_listen(struct net *n, uint16_t port, tcp_accept_fn fn, void *arg);
void tcp_listener_close(struct tcp_listener *l);
/* Future of the struct tcp_conn * once established; fails with ECONNREFUSED, ETIMEDOUT... */
ebb_future_t tcp_connect(struct net *n, ip4_t ip, uint16_t port, const struct tcp_handlers *h,
                         void *arg);
void tcp_set_handlers(struct tcp_conn *c, const struct tcp_handlers *h, void *arg);
/* Moves the connection to `core`; call it on the connection's current core (typically in the
 * accept handler). Once moved, `connected` is delivered on the new core: continue from there
 * (every later handler runs there too). 0 or -errno. */
int tcp_bind_core(struct tcp_conn *c, unsigned core);
unsigned tcp_core(const struct tcp_conn *c);
void tcp_addrs(const struct tcp_conn *c, ip4_t *lip, uint16_t *lport, ip4_t *rip, uint16_t *rport);

/* Bytes tcp_send() accepts now. */
size_t tcp_send_window(struct tcp_conn *c);
/* Sends data if it fits the window: 0, data taken. -EMSGSIZE (does not fit) or -EPIPE (closed):
 * data not taken, still the caller's. */
int tcp_send(struct tcp_conn *c, struct iobuf *data);
/* Takes data always: sends what fits, queues the rest for when the window opens. 0 or -errno:
 * -ENOBUFS when the queue would pass the connection's limit (data dropped; window_opened says
 * when the queue has drained), -EPIPE after close. */
int tcp_send_buffered(struct tcp_conn *c, struct iobuf *data);
/* The most tcp_send_buffered() queues for c (default TCP_SENDQ_MAX_DEFAULT). */
#define TCP_SENDQ_MAX_DEFAULT (16u << 20)
void tcp_set_send_limit(struct tcp_conn *c, size_t bytes);
/* How many tcp_send_buffered() calls were refused for the limit (all connections). */
uint64_t tcp_sendq_refused(void);
size_t tcp_buffered(const struct tcp_conn *c);
/* Half-close: FIN after any buffered data. Receiving goes on until `closed`. */
void tcp_close(struct tcp_conn *c);
void tcp_abort(struct tcp_conn *c);

typedef void (*udp_recv_fn)(void *arg, struct udp_sock *s, ip4_t src, uint16_t sport,
                            struct iobuf *data);
/* port 0: an ephemeral port. NULL with errno set on failure (EADDRINUSE...). */
struct udp_sock *udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *arg);
int udp_send(struct udp_sock *s, ip4_t dst, uint16_t dport, struct iobuf *data); /* takes data */
uint16_t udp_port(const struct udp_sock *s);
void udp_close(struct udp_sock *s);

/* The image's network from its configuration (hosted: netif=tap:NAME ip=A.B.C.D/N gw=G, or
 * netif=linux; no ip= means DHCP). A future of the struct net * once it has an address. Bad
 * configuration fails the future with EINVAL after printing why. */
ebb_future_t net_start_from_config(void);
/* The same network for everyone who asks (the application, the Messenger): started once by
 * net_start_from_config(). */
ebb_future_t net_image(void);
/* Makes n the image's network instead of the configuration's (a front end's cluster switch,
 * docs/cluster.md): 0, or -EBUSY once net_image() has been asked. */
int net_image_use(struct net *n);
/* The local address (0 if none yet, or for Linux sockets). */
ip4_t net_addr(struct net *n);
