# The network stack (platform-independent) and IOBuf.
CORE_SRCS += core/iobuf.c net/api.c net/stack.c net/ethernet.c net/checksum.c net/arp.c net/ipv4.c net/udp.c net/tcp_input.c net/tcp_output.c net/tcp_timer.c net/tcp_conn.c net/tcp_cookie.c \
             net/dhcp.c net/wire.c net/config.c net/msg_tcp.c

HOSTED_TESTS += iobuf
iobuf_SRCS := tests/iobuf.c

HOSTED_TESTS += net_wire
net_wire_SRCS := tests/net_wire.c

HOSTED_SRCS += platform/hosted/net_tap.c platform/hosted/net_linux.c platform/hosted/net_config.c

# Against Linux's own stack over tap devices they create (root; skipped otherwise).
TEST_SCRIPTS += tests/net_tap.t tests/net_loss.t tests/net_dhcp.t tests/net_linux.t

HOSTED_TESTS += net_parse
net_parse_SRCS := tests/net_parse.c

BENCHES += bench-net
bench-net: $(B)/hosted/netpipe
	tests/bench/net_tap.sh

HOSTED_TESTS += net_tcp
net_tcp_SRCS := tests/net_tcp.c
