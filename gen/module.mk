# ebbgen (a C program on libclang) and the rules that run it: every x.ebb.h listed in EBB_IFACES
# becomes $(B)/gen/<dir>/x.gen.h and x.gen.c; a manifest becomes the image's binding table.
# Nothing generated lands in the source tree.
LLVM_INC := $(shell llvm-config-14 --includedir)
LLVM_LIB := $(shell llvm-config-14 --libdir)
EBBGEN   := $(B)/bin/ebbgen
EBBGEN_TEMPLATES := $(wildcard gen/*.m4)
EBBGEN_FLAGS = -I. -Iplatform/hosted/include -DEBB_HOSTED
TOOLS += $(EBBGEN)

EBBGEN_SRCS := gen/ebbgen.c gen/parse.c gen/manifest.c gen/util.c
$(EBBGEN): $(EBBGEN_SRCS) gen/ebbgen.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O2 -I$(LLVM_INC) -DEBBGEN_TREE='"$(abspath .)"' \
	  -DEBBGEN_TREE_GEN='"$(abspath $(B)/gen)"' $(EBBGEN_SRCS) -o $@ \
	  -L$(LLVM_LIB) -lclang -Wl,-rpath,$(LLVM_LIB)

# gen_h/gen_c: x.ebb.h -> its generated header / C file.
gen_h = $(patsubst %.ebb.h,$(B)/gen/%.gen.h,$(1))
gen_c = $(patsubst %.ebb.h,$(B)/gen/%.gen.c,$(1))
GEN_HDRS = $(call gen_h,$(EBB_IFACES))

define ebbgen_rule
$(call gen_h,$(1)) $(call gen_c,$(1)) &: $(1) $(EBBGEN) $(EBBGEN_TEMPLATES)
	$(EBBGEN) $(EBBGEN_FLAGS) -o $(B)/gen/$(patsubst %/,%,$(dir $(1))) -MD -MF $(B)/gen/$(1:.ebb.h=.gen.d) $(1)
endef

# The library's default static bindings (the system Ebbs, ebbs/default.manifest): in every
# image. An app with <app>_MANIFEST gets its own table too, which core/ebb.c consults first.
DEFAULT_MANIFEST := ebbs/default.manifest
CORE_SRCS += $(B)/gen/ebbs/bindings.gen.c
$(B)/gen/ebbs/bindings.gen.c: $(DEFAULT_MANIFEST) $(EBBGEN) $(EBBGEN_TEMPLATES)
	$(EBBGEN) -o $(@D) --defaults $(DEFAULT_MANIFEST)
define manifest_rule
$(B)/gen/$(dir $($(1)_MANIFEST))bindings.gen.c: $($(1)_MANIFEST) $(EBBGEN) $(EBBGEN_TEMPLATES)
	$(EBBGEN) -o $$(@D) --manifest $($(1)_MANIFEST)
$(1)_SRCS += $(B)/gen/$(dir $($(1)_MANIFEST))bindings.gen.c
endef

TEST_SCRIPTS += tests/ebbgen.t

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
