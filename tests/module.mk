HOSTED_TESTS += core_ebb core_event core_future core_log
core_log_SRCS    := tests/core_log.c
core_ebb_SRCS    := tests/core_ebb.c
core_event_SRCS  := tests/core_event.c
core_future_SRCS := tests/core_future.c
CPPFLAGS += -Itests
TEST_SCRIPTS += tests/helloworld.t tests/pkgconfig.t tests/valgrind.t tests/layers.t
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

# The Messenger: marshalling round trips and bad frames (tests/msg.c, also native), two nodes
# over TCP (tests/msg_e2e.c).
EBB_IFACES   += tests/gen/sample.ebb.h
HOSTED_TESTS += msg
msg_SRCS     := tests/msg.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h)
EBB_IFACES   += tests/gen/ctl.ebb.h
HOSTED_TESTS += msg_e2e
msg_e2e_SRCS := tests/msg_e2e.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h) \
                $(call gen_c,tests/gen/ctl.ebb.h)
NATIVE_TESTS += msg

# make bench: remote call costs (tests/bench/msg.sh).
BENCH_BINS += $(B)/hosted/bench/msgbench
$(B)/hosted/bench/msgbench: $(call objs,hosted,tests/bench/msgbench.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h)) $(HOSTED_LIB)
	@mkdir -p $(@D)
	$(call hosted_link,hosted,$(HOSTED_LIB))
BENCHES += bench-msg
bench-msg: $(B)/hosted/bench/msgbench
	tests/bench/msg.sh $<

# Deliberately broken tests that tests/harness.t runs through prove (not run directly).
TEST_SCRIPTS += tests/harness.t
$(B)/tests/harness_broken: tests/harness_broken.c tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(hosted_CFLAGS) -o $@ $<
all: $(B)/tests/harness_broken
# The Messenger against strangers and misbehaving nodes (tests/msg_attack.c).
HOSTED_TESTS += msg_attack
msg_attack_SRCS := tests/msg_attack.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h)
