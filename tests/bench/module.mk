# Benchmark programs: built by `make all` (so they keep compiling), run only by `make bench`.
EBB_IFACES += tests/bench/adder.ebb.h
BENCH_BINS += $(B)/hosted/bench/ebbcall
$(B)/hosted/bench/ebbcall: $(call objs,hosted,tests/bench/ebbcall.c $(B)/gen/tests/bench/adder.gen.c) $(HOSTED_LIB)
	@mkdir -p $(@D)
	$(call hosted_link,hosted,$(HOSTED_LIB))

BENCHES += bench-core
bench-core: $(B)/hosted/bench/ebbcall
	tests/bench/core.sh $<

# memcached: the load generator and ours against Debian's memcached (docs/performance.md).
BENCH_BINS += $(B)/hosted/bench/mcload
$(B)/hosted/bench/mcload: tests/bench/mcload.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O2 -o $@ $< -lm
BENCHES += bench-memcached
bench-memcached: $(B)/hosted/bench/mcload $(B)/hosted/memcached $(B)/native/memcached.elf
	tests/bench/memcached.sh
	tests/bench/memcached_native.sh

# make bench: remote call costs (tests/bench/msg.sh).
BENCH_BINS += $(B)/hosted/bench/msgbench
$(B)/hosted/bench/msgbench: $(call objs,hosted,tests/bench/msgbench.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h)) $(HOSTED_LIB)
	@mkdir -p $(@D)
	$(call hosted_link,hosted,$(HOSTED_LIB))
BENCHES += bench-msg
bench-msg: $(B)/hosted/bench/msgbench
	tests/bench/msg.sh $<

# The stack against Linux over a tap (netpipe).
BENCHES += bench-net
bench-net: $(B)/hosted/netpipe
	tests/bench/net_tap.sh

# make bench-alloc (part of make bench): the allocator benchmarks of tests/bench/alloc.sh, ours
# against glibc, jemalloc, mimalloc and tcmalloc through LD_PRELOAD.
BENCHES += bench-alloc
ALLOC_BENCH_BINS := $(patsubst %,$(B)/bench/%,threadtest larson cache_share xmalloc mstress phase allocrun)
BENCH_BINS += $(ALLOC_BENCH_BINS)
$(B)/bench/%: tests/bench/%.c tests/bench/alloc_bench.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O2 -fno-builtin -pthread -o $@ $<
bench-alloc: $(ALLOC_BENCH_BINS) $(EBBMALLOC)
	sh tests/bench/alloc.sh $(B)

# make bench: boot time and image size (tests/bench/native_boot.sh), remote spawn by IPI.
NATIVE_APPS += native_boot native_spawn
native_boot_SRCS := tests/bench/native_boot.c
native_spawn_SRCS := tests/bench/native_spawn.c
BENCHES += bench-native-boot bench-native-spawn
bench-native-boot: $(B)/native/native_boot.elf $(B)/native/helloworld.elf
	tests/bench/native_boot.sh $(B)
bench-native-spawn: $(B)/native/native_spawn.elf
	for i in 1 2 3; do ACCEL=tcg scripts/qemu-run --smp 2 $<; done

# make bench-native-net: native images on virtio-net against a Linux VM (Debian's kernel and a
# busybox initramfs, tests/bench/linux_vm.sh), same QEMU flags, same tap, same clients.
BENCHES += bench-native-net
bench-native-net: $(B)/native/netpipe.elf $(B)/native/iperf.elf $(B)/native/echo.elf
	tests/bench/native_net.sh

# make bench-cluster: a native node from allocation to its first answered call against a Linux
# VM's boot to its first ping; remote-call round trips front end -> native, native -> native
# against hosted -> hosted, and native -> native against two Linux VMs' TCP ping-pong on the same
# switch (tests/bench/cluster.sh, docs/cluster.md).
BENCH_BINS += $(B)/hosted/bench/vswitch
$(B)/hosted/bench/vswitch: $(call objs,hosted,tests/bench/vswitch.c) $(HOSTED_LIB)
	@mkdir -p $(@D)
	$(call hosted_link,hosted,$(HOSTED_LIB))
BENCHES += bench-cluster
bench-cluster: $(B)/hosted/cluster_test $(B)/native/cluster_test.elf $(B)/hosted/bench/msgbench \
               $(B)/hosted/bench/vswitch $(B)/hosted/tests/gidmap
	tests/bench/cluster.sh
	tests/bench/gidmap.sh
