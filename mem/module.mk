# The memory system: buddy page allocator, per-core slabs, vmem, general-purpose allocator.
MEM_ALLOC_SRCS := mem/page.c mem/span.c mem/slab.c mem/vmem.c mem/gp.c  # also in libebbmalloc.so
CORE_SRCS   += $(MEM_ALLOC_SRCS) mem/ebbs.c
# Every image routes the malloc family to the malloc Ebb (mem/malloc.c).
CORE_SRCS   += mem/malloc.c
