# Benchmark programs: built by `make bench`, never by the tests.
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
bench-memcached: $(B)/hosted/bench/mcload $(B)/hosted/memcached
	tests/bench/memcached.sh
