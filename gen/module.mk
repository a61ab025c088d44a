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
	$(call say,CC,$(EBBGEN))$(CC) $(CFLAGS) -O2 -I$(LLVM_INC) -DEBBGEN_TREE='"$(abspath .)"' \
	  -DEBBGEN_TREE_GEN='"$(abspath $(B)/gen)"' $(EBBGEN_SRCS) -o $@ \
	  -L$(LLVM_LIB) -lclang -Wl,-rpath,$(LLVM_LIB)

GEN_HDRS = $(call gen_h,$(EBB_IFACES))

define ebbgen_rule
$(call gen_h,$(1)) $(call gen_c,$(1)) &: $(1) $(EBBGEN) $(EBBGEN_TEMPLATES)
	$(call say,GEN,$(1))$(EBBGEN) $(EBBGEN_FLAGS) -o $(B)/gen/$(patsubst %/,%,$(dir $(1))) -MD -MF $(B)/gen/$(1:.ebb.h=.gen.d) $(1)
endef

# The library's default static bindings (the system Ebbs, ebbs/default.manifest): in every
# image. An app with <app>_MANIFEST gets its own table too, which core/ebb.c consults first.
$(B)/gen/ebbs/bindings.gen.c: $(DEFAULT_MANIFEST) $(EBBGEN) $(EBBGEN_TEMPLATES)
	$(call say,GEN,$(DEFAULT_MANIFEST))$(EBBGEN) -o $(@D) --defaults $(DEFAULT_MANIFEST)
define manifest_rule
$(B)/gen/$(dir $($(1)_MANIFEST))bindings.gen.c: $($(1)_MANIFEST) $(EBBGEN) $(EBBGEN_TEMPLATES)
	$$(call say,GEN,$($(1)_MANIFEST))$(EBBGEN) -o $$(@D) --manifest $($(1)_MANIFEST)
$(1)_SRCS += $(B)/gen/$(dir $($(1)_MANIFEST))bindings.gen.c
endef
