# EbbRT in C: one non-recursive build. Each folder adds its sources in a module.mk; everything
# built lands in build/. Variants: hosted (Linux library and apps), asan (hosted with ASan+UBSan,
# for the tests), native (bootable x86_64 images).
#   make [all]            build tools, the hosted library, hosted apps and tests
#   make test             build, then run every TAP test with prove
#   make run [APP=x] [PLATFORM=native|hosted]   build and run an application (default: the
#                         native memcached under QEMU on localhost:11211, scripts/qemu-run;
#                         APP=helloworld for hello world; ARGS=key=value...;
#                         NET=tap:NAME or NET=user: a network device, docs/native.md)
#   make APP=x PLATFORM=native   build the bootable image build/native/x.elf
#   make debug APP=x      boot build/native/x.elf stopped, with gdb attached
#   make bench            benchmarks (not tests): ratios against baselines measured in the same run
#   make clean
B        := build
APP      ?= memcached
PLATFORM ?= native
CC       := gcc
AR       := ar
M4       := m4

# Set-up check: installs missing Debian packages when root, otherwise says what to install. It
# runs again only when its package list (scripts/deps.sh) changed since it last passed.
DEPS_STAMP := $(B)/.deps-ok
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
  ifneq ($(shell [ $(DEPS_STAMP) -nt scripts/deps.sh ] || \
           { sh scripts/deps.sh >&2 && mkdir -p $(B) && touch $(DEPS_STAMP); }; echo $$?),0)
    $(error missing packages, see above)
  endif
endif

# Quiet output: one line per step ("CC core/ebb.c"); V=1 shows whole command lines.
ifneq ($(V),1)
.SILENT:
say = printf '  %-6s %s\n' '$(1)' '$(2)';
endif

# gen_h/gen_c: x.ebb.h -> its generated header / C file (rules in gen/module.mk). Defined before
# the module.mk files, which use them.
gen_h = $(patsubst %.ebb.h,$(B)/gen/%.gen.h,$(1))
gen_c = $(patsubst %.ebb.h,$(B)/gen/%.gen.c,$(1))

WARN     := -Wall -Wextra -Werror
CPPFLAGS := -I. -I$(B)/gen
CFLAGS   := -std=gnu11 $(WARN) -g -fno-strict-aliasing

# Per-variant flags: the platform include folder decides how core/ reaches per-core state.
hosted_CFLAGS  := -O2 -pthread -Iplatform/hosted/include -DEBB_HOSTED
asan_CFLAGS    := -O1 -pthread -Iplatform/hosted/include -DEBB_HOSTED \
                  -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Native code may use SSE: interrupts are taken only while a core halts (platform/native), so no
# handler ever runs in the middle of code that holds values in vector registers.
native_CFLAGS  := -O2 -Iplatform/native/include -DEBB_NATIVE -ffreestanding -fno-pic -fno-pie \
                  -mno-red-zone -mcmodel=kernel -mno-avx -fno-stack-protector \
                  -fno-asynchronous-unwind-tables -fno-omit-frame-pointer -nostdinc \
                  -ffunction-sections -fdata-sections \
                  -isystem platform/native/libc/include -isystem $(shell $(CC) -print-file-name=include)
hosted_LDFLAGS := -pthread
asan_LDFLAGS   := -pthread -fsanitize=address,undefined

# Lists the module.mk files fill in.
CORE_SRCS   :=   # platform-independent: core/, mem/, net/, reps/, generated glue
HOSTED_SRCS :=   # platform/hosted/
NATIVE_SRCS :=   # platform/native/
EBB_IFACES  :=   # *.ebb.h run through ebbgen
HOSTED_APPS :=   # names: each sets <name>_SRCS
HOSTED_TESTS :=  # names: each sets <name>_SRCS; built into build/{hosted,asan}/tests/<name>
NATIVE_APPS :=   # native-only application images (every HOSTED_APP is also built native)
NATIVE_TESTS :=  # names (with <name>_SRCS) also built as native images and run in QEMU by prove
TEST_SCRIPTS :=  # tests/*.t run directly by prove
BENCHES     :=   # targets run by make bench
TOOLS       :=   # build/bin/<tool>

# objs VARIANT, SOURCES -> object paths: core/ebb.c -> build/hosted/obj/core/ebb.c.o; generated
# sources (build/gen/...) keep their path below the variant's obj folder.
objs = $(patsubst %,$(B)/$(1)/obj/%.o,$(2))
HOSTED_LIB := $(B)/lib/libebbrt-hosted.a
ASAN_LIB   := $(B)/asan/lib/libebbrt-hosted.a
# The whole archive is linked: Ebb roots, default bindings and the hosted main() are found by
# the runtime, not referenced by the application.
hosted_link = $(call say,LD,$@)$(CC) $($(1)_LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--whole-archive $(2) -Wl,--no-whole-archive $(3)

include $(sort $(wildcard */module.mk */*/module.mk))

# Generated glue (gen/module.mk): a rule per interface (EBB_IFACES) and per app manifest.
$(foreach f,$(EBB_IFACES),$(eval $(call ebbgen_rule,$(f))))
$(foreach a,$(HOSTED_APPS),$(if $($(a)_MANIFEST),$(eval $(call manifest_rule,$(a)))))
# Every generated header, for rules read before all interfaces are known (the module.mk files
# are read in name order: tests/fuzz/ comes before tests/module.mk adds its interfaces).
.PHONY: gen-headers
gen-headers: $(GEN_HDRS)

define variant_rules
$(B)/$(1)/obj/%.c.o: %.c | $$(GEN_HDRS)
	@mkdir -p $$(@D)
	$$(call say,CC,$$< ($(1)))$$(CC) $$(CPPFLAGS) $$(CFLAGS) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@
$(B)/$(1)/obj/%.S.o: %.S
	@mkdir -p $$(@D)
	$$(call say,AS,$$< ($(1)))$$(CC) $$(CPPFLAGS) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@
endef
$(foreach v,hosted asan native,$(eval $(call variant_rules,$(v))))

LIB_OBJS    = $(call objs,hosted,$(CORE_SRCS) $(HOSTED_SRCS))
ASAN_OBJS   = $(call objs,asan,$(CORE_SRCS) $(HOSTED_SRCS))

# Archives also depend on the makefiles: a source dropped from a list must leave the archive.
MAKEFILES_ALL := $(filter-out %.d,$(MAKEFILE_LIST))
$(HOSTED_LIB): $(LIB_OBJS) $(MAKEFILES_ALL)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
# The runtime's own tests keep the C library's malloc (a test of mem/ must own its page
# allocator's nodes); images and out-of-tree programs get the malloc Ebb's front, mem/malloc.c.
HOSTED_TEST_LIB := $(B)/lib/libebbrt-hosted-test.a
$(HOSTED_TEST_LIB): $(filter-out %/mem/malloc.c.o,$(LIB_OBJS)) $(MAKEFILES_ALL)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
$(ASAN_LIB): $(ASAN_OBJS) $(MAKEFILES_ALL)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

define hosted_app
$(B)/hosted/$(1): $(call objs,hosted,$($(1)_SRCS)) $(HOSTED_LIB)
	@mkdir -p $$(@D)
	$$(call hosted_link,hosted,$(HOSTED_LIB),$($(1)_LIBS))
endef
$(foreach a,$(HOSTED_APPS),$(eval $(call hosted_app,$(a))))

define hosted_test
$(B)/hosted/tests/$(1): $(call objs,hosted,$($(1)_SRCS)) $(HOSTED_TEST_LIB)
	@mkdir -p $$(@D)
	$$(call hosted_link,hosted,$(HOSTED_TEST_LIB),$($(1)_LIBS))
$(B)/asan/tests/$(1): $(call objs,asan,$($(1)_SRCS)) $(ASAN_LIB)
	@mkdir -p $$(@D)
	$$(call hosted_link,asan,$(ASAN_LIB),$($(1)_LIBS))
endef
$(foreach t,$(HOSTED_TESTS),$(eval $(call hosted_test,$(t))))

# Native images: core/ + platform/native/ linked into one bootable ELF (multiboot, booted by
# scripts/qemu-run). Two links: the second appends the symbol table for backtraces after the
# code, which does not move (platform/native/ksyms.sh, link.ld).
NATIVE_LIB  := $(B)/native/lib/libebbrt-native.a
NATIVE_OBJS  = $(call objs,native,$(CORE_SRCS) $(NATIVE_SRCS))
NATIVE_LD   := platform/native/link.ld
NATIVE_LDFLAGS := -nostdlib -static -Wl,-T,$(NATIVE_LD) -Wl,-z,max-page-size=0x1000 \
                  -Wl,--no-warn-rwx-segments -Wl,--build-id=none -Wl,--gc-sections
$(NATIVE_LIB): $(NATIVE_OBJS) $(MAKEFILES_ALL)
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
define native_link
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(NATIVE_LDFLAGS) -o $@.1 $(filter %.o,$^) -Wl,--whole-archive $(NATIVE_LIB) -Wl,--no-whole-archive
	sh platform/native/ksyms.sh $@.1 > $@.ksyms.S
	$(CC) -c $@.ksyms.S -o $@.ksyms.o
	$(CC) $(NATIVE_LDFLAGS) -o $@ $(filter %.o,$^) $@.ksyms.o -Wl,--whole-archive $(NATIVE_LIB) -Wl,--no-whole-archive
	rm -f $@.1 $@.ksyms.S $@.ksyms.o
endef
NATIVE_DEPS := $(NATIVE_LIB) $(NATIVE_LD) platform/native/ksyms.sh
# An app whose native image differs from its hosted program (a front end and its nodes) names
# the image's sources in <name>_NATIVE_SRCS.
define native_app
$(B)/native/$(1).elf: $(call objs,native,$(or $($(1)_NATIVE_SRCS),$($(1)_SRCS))) $(NATIVE_DEPS)
	$$(native_link)
endef
$(foreach a,$(sort $(HOSTED_APPS) $(NATIVE_APPS)),$(eval $(call native_app,$(a))))
# Each native test is an image plus a prove script that boots it (scripts/native-test) on
# $(<name>_NATIVE_SMP) vCPUs, 2 by default.
define native_test
$(B)/native/tests/$(1).elf: $(call objs,native,$($(1)_SRCS)) $(NATIVE_DEPS)
	$$(native_link)
$(B)/native/tests/$(1).t: $(B)/native/tests/$(1).elf Makefile
	printf '#!/bin/sh\nexec scripts/native-test %s --smp %s "$$$$@"\n' $$< $(or $($(1)_NATIVE_SMP),2) > $$@ && chmod +x $$@
endef
$(foreach t,$(NATIVE_TESTS),$(eval $(call native_test,$(t))))
NATIVE_IMAGES = $(patsubst %,$(B)/native/%.elf,$(sort $(HOSTED_APPS) $(NATIVE_APPS)))
NATIVE_TEST_SCRIPTS = $(patsubst %,$(B)/native/tests/%.t,$(NATIVE_TESTS))

include install.mk

HOSTED_APP_BINS  = $(addprefix $(B)/hosted/,$(HOSTED_APPS))
TEST_BINS        = $(addprefix $(B)/hosted/tests/,$(HOSTED_TESTS)) $(addprefix $(B)/asan/tests/,$(HOSTED_TESTS))

# The benchmark programs too: a change that breaks one fails the build, not a later make bench.
all: $(TOOLS) $(HOSTED_LIB) $(PC_FILES) $(HOSTED_APP_BINS) $(TEST_BINS) $(NATIVE_IMAGES) \
     $(NATIVE_TEST_SCRIPTS) $(BENCH_BINS)

# Tests run in parallel: each must use its own ports, tap names and temporary files.
test: all
	prove -e tests/timelimit -j2 --timer $(TEST_BINS) $(TEST_SCRIPTS) $(NATIVE_TEST_SCRIPTS)

ifeq ($(PLATFORM),native)
# NET=tap:NAME or NET=user[,OPTS]: a virtio-net device (scripts/qemu-run --net). The native
# memcached (make run's default) gets QEMU's user network with localhost:11211 forwarded to it.
MEMCACHED_NET := user,hostfwd=tcp:127.0.0.1:11211-:11211
NET ?= $(if $(filter memcached,$(APP)),$(MEMCACHED_NET))
run: $(B)/native/$(APP).elf
	@$(if $(filter $(MEMCACHED_NET),$(NET)),printf '%s\n' "memcached on localhost:11211 once it says ready; try: printf 'set a 0 0 2\\r\\nhi\\r\\nget a\\r\\n' | nc -q1 127.0.0.1 11211   (Ctrl-C stops it)",:)
	scripts/qemu-run $(QEMU_ARGS) $(if $(NET),--net $(NET)) $< $(ARGS)
else
run: all
	$(B)/hosted/$(APP) $(ARGS)
endif
debug: $(B)/native/$(APP).elf
	scripts/qemu-run --debug $(QEMU_ARGS) $< $(ARGS)

bench: all $(BENCH_BINS) $(BENCHES)

clean:
	rm -rf $(B)

help:
	@sed -n '1,12p' Makefile

.PHONY: all test run debug bench clean help $(BENCHES)
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
