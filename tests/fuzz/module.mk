# Fuzzing (libFuzzer, clang-14, ASan+UBSan): one binary per target, each the hosted runtime
# with libc's malloc plus tests/fuzz/harness.c. Checked-in seeds live in
# tests/fuzz/corpus/<target>/ (crashes found become regression inputs there).
#   make fuzz [FUZZ_TIME=seconds per target, default 60] [FUZZ_TARGETS="config stack msg"]
# New inputs go to build/fuzz/corpus/<target>/, never into the tree. make test replays the
# checked-in corpus and fuzzes each target briefly (tests/fuzz.t).
FUZZ_CC      := clang-14
FUZZ_TARGETS ?= config stack msg
FUZZ_TIME    ?= 60
fuzz_CFLAGS  := -O1 -pthread -Iplatform/hosted/include -DEBB_HOSTED \
                -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_RT      := $(shell $(FUZZ_CC) -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer_no_main-x86_64.a
FUZZ_LDFLAGS := -pthread -fsanitize=fuzzer-no-link,address,undefined -Wl,--wrap=platform_now_ns,--wrap=platform_wait
# Like the runtime tests, libc's malloc (ASan's), not the malloc Ebb front (mem/malloc.c).
# Relink when a source list changes.
FUZZ_MKS     := Makefile $(wildcard */module.mk */*/module.mk)
FUZZ_BASE    := $(filter-out mem/malloc.c,$(CORE_SRCS) $(HOSTED_SRCS)) tests/fuzz/harness.c
fuzz_config_SRCS := tests/fuzz/config.c
fuzz_stack_SRCS  := tests/fuzz/stack.c
# The msg target brings its own Messenger transport (a stand-in that keeps the frames).
fuzz_msg_BASE    := $(filter-out net/msg_tcp.c,$(FUZZ_BASE))
fuzz_msg_SRCS    := tests/fuzz/msg.c tests/sample_rep.c $(call gen_c,tests/gen/sample.ebb.h)

$(B)/fuzz/obj/%.c.o: %.c | gen-headers
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(CFLAGS) $(fuzz_CFLAGS) -MMD -MP -c $< -o $@
$(B)/fuzz/obj/%.S.o: %.S
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(fuzz_CFLAGS) -MMD -MP -c $< -o $@

define fuzz_target
$(B)/fuzz/fuzz_$(1): $(call objs,fuzz,$(or $(fuzz_$(1)_BASE),$(FUZZ_BASE)) $(fuzz_$(1)_SRCS)) $(FUZZ_MKS)
	@mkdir -p $$(@D)
	clang++-14 $(FUZZ_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(FUZZ_RT)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))
FUZZ_BINS := $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS))
all: $(FUZZ_BINS)
TEST_SCRIPTS += tests/fuzz.t

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(B)/fuzz/corpus/$$t $(B)/fuzz/artifacts; \
	  echo "fuzz: $$t for $(FUZZ_TIME) s"; \
	  $(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -close_fd_mask=3 -print_final_stats=1 \
	    -artifact_prefix=$(B)/fuzz/artifacts/$$t- \
	    $(B)/fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | \
	    grep -E '^stat::(number_of_executed_units|new_units_added)|DONE|ERROR|SUMMARY|cov:.*(DONE|REDUCE|pulse)' | tail -4 || exit 1; \
	done
.PHONY: fuzz
