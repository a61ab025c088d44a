# The network stack (platform-independent) and IOBuf.
CORE_SRCS += core/iobuf.c

HOSTED_TESTS += iobuf
iobuf_SRCS := tests/iobuf.c
