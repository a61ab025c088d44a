/* What an implementation of the application API (net.h) provides: the stack (net/) or Linux
 * sockets (platform/hosted/net_linux.c). net/api.c dispatches through these tables and adds
 * what is common (the buffering send helper, handler bookkeeping). */
#pragma once
#include "net/net.h"

struct net_ops {
    struct tcp_listener *(*listen)(struct net *n, uint16_t port, tcp_accept_fn fn, void *arg);
    ebb_future_t (*connect)(struct net *n, ip4_t ip, uint16_t port, const struct tcp_handlers *h,
                            void *arg);
    struct udp_sock *(*udp_bind)(struct net *n, uint16_t port, udp_recv_fn fn, void *arg);
    ip4_t (*addr)(struct net *n);
};
struct net {
    const struct net_ops *ops;
};

struct tcp_conn_ops {
    size_t (*window)(struct tcp_conn *c);
    /* Takes data whatever it returns (on -errno it was dropped): callers never free it. */
    int (*send)(struct tcp_conn *c, struct iobuf *data);
    void (*close)(struct tcp_conn *c);
    void (*abort)(struct tcp_conn *c);
    int (*bind_core)(struct tcp_conn *c, unsigned core);
    void (*addrs)(const struct tcp_conn *c, ip4_t *lip, uint16_t *lport, ip4_t *rip,
                  uint16_t *rport);
    /* The application released its handle (tcp_close + closed): free when done, after sending
     * what is still in sendq (tcp_deliver_window keeps draining it). */
    void (*release)(struct tcp_conn *c);
};

/* The common head of a connection in every implementation. */
struct tcp_conn {
    const struct tcp_conn_ops *ops;
    struct tcp_handlers h;
    void *arg;
    unsigned core;
    struct iobuf *sendq;      /* tcp_send_buffered() data waiting for window */
    size_t sendq_max;         /* tcp_send_buffered() refuses past this (tcp_set_send_limit) */
    bool app_closed;          /* tcp_close() called (FIN goes after sendq drains) */
    bool fin_queued;          /* close deferred until sendq drains */
    bool peer_closed;         /* `closed` delivered */
    bool released;            /* handle gone */
};

struct tcp_listener_ops {
    void (*close)(struct tcp_listener *l);
};
struct tcp_listener {
    const struct tcp_listener_ops *ops;
};

struct udp_sock_ops {
    int (*send)(struct udp_sock *s, ip4_t dst, uint16_t dport, struct iobuf *data);
    void (*close)(struct udp_sock *s);
};
struct udp_sock {
    const struct udp_sock_ops *ops;
    uint16_t port;
};

/* For implementations: deliver events to the application (these apply the lifetime rules). */
void tcp_conn_init(struct tcp_conn *c, const struct tcp_conn_ops *ops, unsigned core);
void tcp_deliver_connected(struct tcp_conn *c);
void tcp_deliver_receive(struct tcp_conn *c, struct iobuf *data);
void tcp_deliver_closed(struct tcp_conn *c);
void tcp_deliver_aborted(struct tcp_conn *c, int err);
void tcp_deliver_window(struct tcp_conn *c);
