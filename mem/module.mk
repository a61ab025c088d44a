# The memory system: buddy page allocator, per-core slabs, vmem, general-purpose allocator.
EBB_IFACES  += ebbs/malloc.ebb.h ebbs/page_allocator.ebb.h ebbs/slab_cache.ebb.h
CORE_SRCS   += mem/page.c mem/slab.c mem/vmem.c mem/gp.c mem/ebbs.c \
               $(B)/gen/ebbs/malloc.gen.c $(B)/gen/ebbs/page_allocator.gen.c $(B)/gen/ebbs/slab_cache.gen.c
# Every image routes the malloc family to the malloc Ebb (mem/malloc.c).
CORE_SRCS   += mem/malloc.c
HOSTED_SRCS += platform/hosted/mem_arena.c platform/hosted/mem_thread.c

HOSTED_TESTS += mem_buddy mem_stress mem_vmem mem_ebb mem_misuse
mem_buddy_SRCS  := tests/mem_buddy.c
mem_stress_SRCS := tests/mem_stress.c
mem_vmem_SRCS   := tests/mem_vmem.c
mem_ebb_SRCS    := tests/mem_ebb.c
mem_misuse_SRCS := tests/mem_misuse.c
TEST_SCRIPTS += tests/mem_preload.t

# libebbmalloc.so: the general-purpose allocator for unmodified programs (LD_PRELOAD). Its own
# position-independent objects; only the malloc family is exported.
EBBMALLOC_SRCS := mem/page.c mem/slab.c mem/vmem.c mem/gp.c \
                  platform/hosted/mem_arena.c platform/hosted/mem_thread.c platform/hosted/ebbmalloc.c
EBBMALLOC := $(B)/lib/libebbmalloc.so
pic_CFLAGS := -O2 -pthread -fPIC -fvisibility=hidden -ftls-model=initial-exec \
              -Iplatform/hosted/include -DEBB_HOSTED
$(B)/pic/obj/%.c.o: %.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(pic_CFLAGS) -MMD -MP -c $< -o $@
$(EBBMALLOC): $(patsubst %,$(B)/pic/obj/%.o,$(EBBMALLOC_SRCS))
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,-z,now -o $@ $^
all: $(EBBMALLOC)

# make bench-alloc (part of make bench): the allocator benchmarks of tests/bench/alloc.sh, ours
# against glibc, jemalloc, mimalloc and tcmalloc through LD_PRELOAD.
BENCHES += bench-alloc
ALLOC_BENCH_BINS := $(patsubst %,$(B)/bench/%,threadtest larson cache_share xmalloc mstress phase allocrun)
$(B)/bench/%: tests/bench/%.c tests/bench/alloc_bench.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O2 -fno-builtin -pthread -o $@ $<
bench-alloc: $(ALLOC_BENCH_BINS) $(EBBMALLOC)
	sh tests/bench/alloc.sh $(B)

# A plain program (no runtime) that tests/mem_preload.t runs under the library.
$(B)/tests/mem_probe: tests/mem_probe.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -fno-builtin -pthread -o $@ $<
all: $(B)/tests/mem_probe
