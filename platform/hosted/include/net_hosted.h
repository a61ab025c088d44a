/* Hosted network interfaces and the Linux-sockets implementation of the application API. */
#pragma once
#include "core/ebb.h"
#include "net/net.h"

/* Attaches to the tap device NAME (created if missing; needs root), polled on this core, and
 * binds it as a network interface Ebb to a fresh id. 0 or -errno (message printed). */
int netif_tap_open(const char *name, ebb_id_t *id);
/* Frames the kernel refused (tap queue full) since the device was opened. */
uint64_t netif_tap_tx_dropped(ebb_id_t id);

/* The application API over Linux sockets (TCP_NODELAY, non-blocking, in this core's epoll);
 * listeners bind to listen_ip (0: every address). */
struct net *net_linux_new(ip4_t listen_ip);

/* The stack net_start_from_config() made (NULL for netif=linux): for its counters. */
struct net_stack *net_config_stack(void);

/* The unix-socket Ethernet switch (switch.c, docs/cluster.md): listens on path (mode 0600),
 * polled on this core; its local port is a network interface Ebb with address mac, bound to
 * *id. NULL and *err (-errno) on failure. */
struct eth_switch;
struct eth_switch_stats {
    uint64_t frames, floods, runts, bad_length, dropped_outq, macs_replaced;
    uint64_t ports_opened, ports_closed, ports_refused;
};
struct eth_switch *eth_switch_new(const char *path, const uint8_t mac[6], ebb_id_t *id, int *err);
/* Closes every port and the socket (removed); the local port drops what it is sent. On the
 * switch's core. */
void eth_switch_close(struct eth_switch *sw);
/* An uplink to another host's switch: one more port, a TCP connection to addr:port (connected
 * now, blocking) or, listening, each connection accepted on addr:port (at most 16 uplink ports;
 * more are refused, counted in ports_refused); frames as on the unix socket. Frames on it are neither encrypted nor authenticated (the Messenger's are): a network
 * the cluster trusts. 0 or -errno. */
int eth_switch_uplink(struct eth_switch *sw, bool listening, const char *addr, uint16_t port);
void eth_switch_stats(const struct eth_switch *sw, struct eth_switch_stats *out);
