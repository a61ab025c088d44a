HOSTED_TESTS += core_ebb core_event core_future
core_ebb_SRCS    := tests/core_ebb.c
core_event_SRCS  := tests/core_event.c
core_future_SRCS := tests/core_future.c
CPPFLAGS += -Itests
TEST_SCRIPTS += tests/helloworld.t tests/pkgconfig.t tests/valgrind.t
# SHA-256 / HMAC-SHA-256 checked against OpenSSL (libssl-dev).
HOSTED_TESTS += core_sha256
core_sha256_SRCS := tests/core_sha256.c
core_sha256_LIBS := -lcrypto
# Who owns an IOBuf after a failed send (docs/network.md).
HOSTED_TESTS += net_own
net_own_SRCS := tests/net_own.c
# The TCP stack against a hostile peer (tests/net_hostile.c).
HOSTED_TESTS += net_hostile
net_hostile_SRCS := tests/net_hostile.c
