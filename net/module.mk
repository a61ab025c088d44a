# The network stack (platform-independent) and the Messenger's transport.
CORE_SRCS += net/api.c net/stack.c net/ethernet.c net/checksum.c net/arp.c net/ipv4.c net/udp.c \
             net/tcp_input.c net/tcp_output.c net/tcp_timer.c net/tcp_conn.c net/tcp_cookie.c \
             net/dhcp.c net/wire.c net/config.c net/msg_tcp.c
