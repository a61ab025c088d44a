# apps/memcached: the server (memcached.c: network, cores, settings) over the network-free core
# (the store and both protocols), which the fuzz targets and the replay test use alone.
MC_CORE_SRCS := apps/memcached/store.c apps/memcached/proto.c apps/memcached/ascii.c \
                apps/memcached/meta.c apps/memcached/binary.c
HOSTED_APPS += memcached
memcached_SRCS := apps/memcached/memcached.c $(MC_CORE_SRCS)
