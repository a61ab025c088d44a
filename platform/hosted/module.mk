HOSTED_SRCS += platform/hosted/main.c platform/hosted/random.c
HOSTED_SRCS += platform/hosted/mem_arena.c platform/hosted/mem_thread.c \
               platform/hosted/net_tap.c platform/hosted/net_linux.c platform/hosted/net_config.c \
               platform/hosted/switch.c platform/hosted/node_allocator.c \
               platform/hosted/host_numa.c

# libebbmalloc.so: the general-purpose allocator for unmodified programs (LD_PRELOAD). Its own
# position-independent objects; only the malloc family is exported.
EBBMALLOC_SRCS := $(MEM_ALLOC_SRCS) platform/hosted/mem_arena.c platform/hosted/mem_thread.c platform/hosted/ebbmalloc.c
EBBMALLOC := $(B)/lib/libebbmalloc.so
pic_CFLAGS := -O2 -pthread -fPIC -fvisibility=hidden -ftls-model=initial-exec \
              -Iplatform/hosted/include -DEBB_HOSTED
$(B)/pic/obj/%.c.o: %.c | gen-headers
	@mkdir -p $(@D)
	$(call say,CC,$< (pic))$(CC) $(CPPFLAGS) $(CFLAGS) $(pic_CFLAGS) -MMD -MP -c $< -o $@
$(EBBMALLOC): $(patsubst %,$(B)/pic/obj/%.o,$(EBBMALLOC_SRCS))
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -shared -pthread -Wl,-z,now -o $@ $^
all: $(EBBMALLOC)
