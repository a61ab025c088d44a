# pkg-config files and `make install PREFIX=...`: how a program outside the tree builds on the
# framework (docs/guide.md). One text per .pc serves the tree (build/pkgconfig/) and an install
# (PREFIX/lib/pkgconfig/); only the variables at its top differ. The flags are the build's own
# (hosted_CFLAGS, native_CFLAGS, NATIVE_LDFLAGS) with tree paths turned into ${includedir}.
PREFIX ?= /usr/local
PC_FILES := $(B)/pkgconfig/ebbrt-hosted.pc $(B)/pkgconfig/ebbrt-native.pc

pc_rel = $(patsubst platform/%,$${includedir}/platform/%,\
           $(patsubst -Iplatform/%,-I$${includedir}/platform/%,$(filter-out -O%,$(1))))

# pc_head PREFIX, INCLUDEDIR, GENDIR, LIBDIR, EBBGEN, QEMU_RUN, LDSCRIPT
define pc_head
prefix=$(strip $(1))
includedir=$(strip $(2))
gendir=$(strip $(3))
libdir=$(strip $(4))
ebbgen=$(strip $(5))
qemu_run=$(strip $(6))
ldscript=$(strip $(7))

endef
define pc_hosted
Name: ebbrt-hosted
Description: EbbRT in C, hosted runtime (a Linux process)
Version: 0.1
Cflags: -std=gnu11 -I$${includedir} -I$${gendir} $(call pc_rel,$(hosted_CFLAGS))
Libs: -pthread -Wl,--whole-archive $${libdir}/libebbrt-hosted.a -Wl,--no-whole-archive
endef
define pc_native
Name: ebbrt-native
Description: EbbRT in C, native runtime (a bootable x86_64 image, booted by $${qemu_run})
Version: 0.1
Cflags: -std=gnu11 -I$${includedir} -I$${gendir} $(call pc_rel,$(native_CFLAGS))
Libs: $(subst $(NATIVE_LD),$${ldscript},$(NATIVE_LDFLAGS)) -Wl,--whole-archive $${libdir}/libebbrt-native.a -Wl,--no-whole-archive
endef

TREE_PC = $(call pc_head,$(abspath .),$${prefix},$(abspath $(B)/gen),$(abspath $(1)),\
            $(abspath $(EBBGEN)),$${prefix}/scripts/qemu-run,$${prefix}/$(NATIVE_LD))
# $(file) runs when the recipe is expanded, before any of its lines: the folder must exist first.
$(B)/pkgconfig/:
	@mkdir -p $@
$(B)/pkgconfig/ebbrt-hosted.pc: Makefile install.mk | $(B)/pkgconfig/
	$(file >$@,$(call TREE_PC,$(B)/lib)$(pc_hosted))
$(B)/pkgconfig/ebbrt-native.pc: Makefile install.mk | $(B)/pkgconfig/
	$(file >$@,$(call TREE_PC,$(B)/native/lib)$(pc_native))

# make install [PREFIX=/usr/local] [DESTDIR=]: ebbgen and its templates, the headers (generated
# ones included), both libraries, the native linker script, qemu-run (as ebbrt-qemu-run) and
# the .pc files. An installed ebbgen finds the rest from where it is (gen/ebbgen.c).
INST     = $(DESTDIR)$(PREFIX)
INST_PC  = $(call pc_head,$(PREFIX),$${prefix}/include/ebbrt,$${includedir},$${prefix}/lib,\
             $${prefix}/bin/ebbgen,$${prefix}/bin/ebbrt-qemu-run,$${prefix}/lib/ebbrt/link.ld)
HDR_DIRS = core mem net ebbs reps platform/hosted/include platform/native/include \
           platform/native/libc/include
install-files: $(EBBGEN) $(HOSTED_LIB) $(NATIVE_LIB) $(GEN_HDRS)
	mkdir -p $(INST)/bin $(INST)/lib/pkgconfig $(INST)/lib/ebbrt $(INST)/share/ebbrt/gen \
	  $(INST)/include/ebbrt/ebbs
	install -m 755 $(EBBGEN) $(INST)/bin/ebbgen
	install -m 755 scripts/qemu-run $(INST)/bin/ebbrt-qemu-run
	install -m 644 $(EBBGEN_TEMPLATES) $(INST)/share/ebbrt/gen/
	install -m 644 $(HOSTED_LIB) $(NATIVE_LIB) $(INST)/lib/
	install -m 644 $(NATIVE_LD) $(INST)/lib/ebbrt/link.ld
	find $(HDR_DIRS) -name '*.h' | while read -r h; do \
	  install -D -m 644 "$$h" "$(INST)/include/ebbrt/$$h" || exit 1; done
	install -m 644 $(B)/gen/ebbs/*.gen.h $(INST)/include/ebbrt/ebbs/
# make expands a recipe just before running it: this one once install-files made the folders.
install: install-files
	$(file >$(INST)/lib/pkgconfig/ebbrt-hosted.pc,$(INST_PC)$(pc_hosted))
	$(file >$(INST)/lib/pkgconfig/ebbrt-native.pc,$(INST_PC)$(pc_native))
	@echo "installed in $(INST)"
.PHONY: install install-files
