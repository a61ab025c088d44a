# The system Ebbs' interfaces (run through ebbgen; the glue goes into every image) and their
# default bindings (ebbs/default.manifest, gen/module.mk's rule).
EBB_IFACES += ebbs/messenger.ebb.h ebbs/node_allocator.ebb.h ebbs/malloc.ebb.h ebbs/page_allocator.ebb.h ebbs/slab_cache.ebb.h \
              ebbs/netif.ebb.h ebbs/globalidmap.ebb.h
CORE_SRCS  += $(call gen_c,ebbs/messenger.ebb.h ebbs/node_allocator.ebb.h ebbs/malloc.ebb.h ebbs/page_allocator.ebb.h \
                            ebbs/slab_cache.ebb.h ebbs/netif.ebb.h ebbs/globalidmap.ebb.h)
DEFAULT_MANIFEST := ebbs/default.manifest
CORE_SRCS  += $(B)/gen/ebbs/bindings.gen.c
