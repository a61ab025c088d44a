HOSTED_TESTS += core_ebb core_event core_future core_log core_config
core_config_SRCS := tests/core_config.c
core_log_SRCS    := tests/core_log.c
core_ebb_SRCS    := tests/core_ebb.c
core_event_SRCS  := tests/core_event.c
core_future_SRCS := tests/core_future.c
CPPFLAGS += -Itests
TEST_SCRIPTS += tests/helloworld.t tests/pkgconfig.t tests/valgrind.t tests/layers.t tests/ids.t
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
# The GlobalIdMap between two hosted nodes: embedded (tests/gidmap.c), on a ZooKeeper server the
# test starts (tests/gidmap_zk.t), and two "hosts" as namespaces sharing one (tests/gidmap_hosts.t).
HOSTED_TESTS += gidmap
gidmap_SRCS  := tests/gidmap.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h) platform/hosted/gidmap_zk.c
gidmap_LIBS  := -lzookeeper_mt
TEST_SCRIPTS += tests/gidmap_zk.t tests/gidmap_hosts.t
msg_e2e_SRCS := tests/msg_e2e.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h) \
                $(call gen_c,tests/gen/ctl.ebb.h)
NATIVE_TESTS += msg

# Deliberately broken tests that tests/harness.t runs through prove (not run directly).
TEST_SCRIPTS += tests/harness.t
$(B)/tests/harness_broken: tests/harness_broken.c tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(hosted_CFLAGS) -o $@ $<
all: $(B)/tests/harness_broken
# The Messenger against strangers and misbehaving nodes (tests/msg_attack.c).
HOSTED_TESTS += msg_attack
msg_attack_SRCS := tests/msg_attack.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h)

# The memory system (mem/; the preloaded library: platform/hosted/module.mk).
HOSTED_TESTS += mem_buddy mem_stress mem_vmem mem_ebb mem_misuse
mem_buddy_SRCS  := tests/mem_buddy.c
mem_stress_SRCS := tests/mem_stress.c
mem_vmem_SRCS   := tests/mem_vmem.c
mem_ebb_SRCS    := tests/mem_ebb.c
mem_misuse_SRCS := tests/mem_misuse.c
TEST_SCRIPTS += tests/mem_preload.t

# A plain program (no runtime) that tests/mem_preload.t runs under the library.
$(B)/tests/mem_probe: tests/mem_probe.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -fno-builtin -pthread -o $@ $<
all: $(B)/tests/mem_probe

# The network stack and IOBuf.
HOSTED_TESTS += iobuf
iobuf_SRCS := tests/iobuf.c

HOSTED_TESTS += net_switch
net_switch_SRCS := tests/net_switch.c
HOSTED_TESTS += net_wire
net_wire_SRCS := tests/net_wire.c

# Against Linux's own stack over tap devices they create (root; skipped otherwise).
TEST_SCRIPTS += tests/net_tap.t tests/net_loss.t tests/net_dhcp.t tests/net_linux.t

HOSTED_TESTS += net_parse
net_parse_SRCS := tests/net_parse.c

HOSTED_TESTS += net_tcp
net_tcp_SRCS := tests/net_tcp.c

# ebbgen and the framework from outside the tree.
TEST_SCRIPTS += tests/ebbgen.t
# Rewrites the golden files tests/ebbgen.t compares with, from the current ebbgen: review the
# diff before committing it (the test itself never writes them).
golden: $(EBBGEN)
	$(EBBGEN) $(EBBGEN_FLAGS) -o $(B)/golden tests/gen/sample.ebb.h
	for f in sample.gen.h sample.gen.c; do sed 's|$(B)/golden/|OUT/|' $(B)/golden/$$f > tests/gen/golden/$$f; done
.PHONY: golden

# The generator's own tests: rejected inputs, golden files (tests/ebbgen.t); what stubs put on
# the wire, under valgrind (tests/ebbgen_wire.c, tests/ebbgen_wire.t).
EBB_IFACES   += tests/gen/tricky.ebb.h
HOSTED_TESTS += ebbgen_wire
ebbgen_wire_SRCS := tests/ebbgen_wire.c $(call gen_c,tests/gen/tricky.ebb.h)
TEST_SCRIPTS += tests/ebbgen_wire.t
# The framework used from outside the tree: install, pkg-config, hosted and native.
TEST_SCRIPTS += tests/ebbgen_oot.t
# docs/guide.md, every command in it as written.
TEST_SCRIPTS += tests/ebbgen_guide.t

# Natively: the core and mem tests that need no Linux services (sources above; core_ebb wants
# 4 cores), and the platform's own.
NATIVE_TESTS += core_ebb core_event core_future mem_vmem mem_ebb
core_ebb_NATIVE_SMP := 4

# Tests of the platform itself: TAP images run by scripts/native-test ...
NATIVE_TESTS += native_irq native_libc native_percore native_vm
native_irq_SRCS := tests/native_irq.c
native_libc_SRCS := tests/native_libc.c
native_percore_SRCS := tests/native_percore.c
native_vm_SRCS := tests/native_vm.c
# ... and images that must fail in a given way, checked by scripts.
NATIVE_APPS += native_fault native_overflow native_hang native_random
native_fault_SRCS := tests/native_fault.c
native_overflow_SRCS := tests/native_overflow.c
native_hang_SRCS := tests/native_hang.c
TEST_SCRIPTS += tests/native_hello.t tests/native_fault.t tests/native_hang.t tests/native_debug.t
# Randomness natively: RDRAND, or virtio-rng without it, or a clear stop at boot.
native_random_SRCS := tests/native_random.c
TEST_SCRIPTS += tests/native_random.t
# Native networking (virtio-net) against Linux over a tap in a namespace of its own (root), and
# over QEMU's user networking (no root).
TEST_SCRIPTS += tests/native_net.t tests/native_net_user.t

# Applications.
TEST_SCRIPTS += tests/rcounter.t tests/mem_custom.t
HOSTED_TESTS += tlsf
tlsf_SRCS := tests/tlsf.c reps/tlsf.c
TEST_SCRIPTS += tests/memcached_proto.t tests/memcached_clients.t
# The native image: the same tests over virtio-net and QEMU user networking; make run and Ctrl-C.
TEST_SCRIPTS += tests/memcached_native_proto.t tests/memcached_native_clients.t tests/memcached_run.t
# The parsers without the network: a replay of mutated requests in make test (plain and ASan),
# libFuzzer targets for each protocol in make fuzz (clang-14; FUZZ_TIME seconds per target, as
# tests/fuzz/module.mk's).
HOSTED_TESTS += memcached_fuzz
memcached_fuzz_SRCS := tests/memcached_fuzz.c $(MC_CORE_SRCS)
FUZZ_FLAGS := -std=gnu11 -g -O1 -I. -Iplatform/hosted/include -DEBB_HOSTED \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(B)/fuzz/memcached_ascii $(B)/fuzz/memcached_binary: tests/memcached_fuzz.c $(MC_CORE_SRCS) core/iobuf.c apps/memcached/mc.h
	@mkdir -p $(@D)
	clang-14 $(FUZZ_FLAGS) -DFUZZ_PROTO=$(if $(findstring ascii,$@),1,2) -o $@ $(filter %.c,$^)
fuzz: fuzz-memcached
fuzz-memcached: $(B)/fuzz/memcached_ascii $(B)/fuzz/memcached_binary
	@mkdir -p $(B)/fuzz/corpus_ascii $(B)/fuzz/corpus_binary
	$(B)/fuzz/memcached_ascii -max_total_time=$(FUZZ_TIME) -dict=apps/memcached/fuzz.dict -max_len=4096 $(B)/fuzz/corpus_ascii
	$(B)/fuzz/memcached_binary -max_total_time=$(FUZZ_TIME) -max_len=4096 $(B)/fuzz/corpus_binary
.PHONY: fuzz fuzz-memcached

# The cluster test (tests/cluster.t): a hosted front end and the native image of its nodes.
HOSTED_APPS += cluster_test
EBB_IFACES += tests/cluster/ctest.ebb.h
cluster_test_SRCS := tests/cluster/front.c tests/cluster/ctest.c $(B)/gen/tests/cluster/ctest.gen.c \
                     platform/hosted/gidmap_zk.c
cluster_test_LIBS := -lzookeeper_mt
cluster_test_NATIVE_SRCS := tests/cluster/node.c tests/cluster/ctest.c \
                            $(B)/gen/tests/cluster/ctest.gen.c $(B)/gen/tests/cluster/bindings.gen.c
cluster_test_MANIFEST := tests/cluster/ebb.manifest
TEST_SCRIPTS += tests/cluster.t
