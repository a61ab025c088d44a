# apps/memcached: the server (memcached.c: network, cores, settings) over the network-free core
# (the store and both protocols), which the fuzz targets and the replay test use alone.
MC_CORE_SRCS := apps/memcached/store.c apps/memcached/proto.c apps/memcached/ascii.c \
                apps/memcached/binary.c
HOSTED_APPS += memcached
memcached_SRCS := apps/memcached/memcached.c $(MC_CORE_SRCS)
TEST_SCRIPTS += tests/memcached_proto.t tests/memcached_clients.t
# The parsers without the network: a replay of mutated requests in make test (plain and ASan),
# libFuzzer targets for each protocol in make fuzz (clang-14; FUZZ_SECS per target).
HOSTED_TESTS += memcached_fuzz
memcached_fuzz_SRCS := tests/memcached_fuzz.c $(MC_CORE_SRCS)
FUZZ_SECS ?= 30
FUZZ_FLAGS := -std=gnu11 -g -O1 -I. -Iplatform/hosted/include -DEBB_HOSTED \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(B)/fuzz/memcached_ascii $(B)/fuzz/memcached_binary: tests/memcached_fuzz.c $(MC_CORE_SRCS) core/iobuf.c apps/memcached/mc.h
	@mkdir -p $(@D)
	clang-14 $(FUZZ_FLAGS) -DFUZZ_PROTO=$(if $(findstring ascii,$@),1,2) -o $@ $(filter %.c,$^)
fuzz: fuzz-memcached
fuzz-memcached: $(B)/fuzz/memcached_ascii $(B)/fuzz/memcached_binary
	@mkdir -p $(B)/fuzz/corpus_ascii $(B)/fuzz/corpus_binary
	$(B)/fuzz/memcached_ascii -max_total_time=$(FUZZ_SECS) -dict=apps/memcached/fuzz.dict -max_len=4096 $(B)/fuzz/corpus_ascii
	$(B)/fuzz/memcached_binary -max_total_time=$(FUZZ_SECS) -max_len=4096 $(B)/fuzz/corpus_binary
.PHONY: fuzz fuzz-memcached
