# The network stack (platform-independent) and IOBuf.
CORE_SRCS += core/iobuf.c net/api.c net/stack.c net/arp.c net/ipv4.c net/udp.c net/tcp.c \
             net/dhcp.c net/wire.c

HOSTED_TESTS += iobuf
iobuf_SRCS := tests/iobuf.c

HOSTED_TESTS += net_wire
net_wire_SRCS := tests/net_wire.c
