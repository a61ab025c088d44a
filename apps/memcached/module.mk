HOSTED_APPS += memcached
memcached_SRCS := apps/memcached/memcached.c apps/memcached/store.c apps/memcached/proto.c \
                  apps/memcached/ascii.c apps/memcached/binary.c
TEST_SCRIPTS += tests/memcached_proto.t tests/memcached_clients.t
