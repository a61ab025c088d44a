CORE_SRCS += core/ebb.c core/event.c core/context.c core/switch.S core/future.c core/rcu.c core/start.c \
             core/config.c core/log.c core/sha256.c core/siphash.c core/msg_stub.c core/iobuf.c

# The Messenger (core/messenger.h): wire format, dispatch and the Messenger Ebb; its transport is
# net/msg_tcp.c, its interface ebbs/messenger.ebb.h.
CORE_SRCS += core/msg.c
# The GlobalIdMap's embedded implementation (ebbs/globalidmap.ebb.h; ZooKeeper's, hosted only and
# linked by the programs that want it: platform/hosted/gidmap_zk.c).
CORE_SRCS += core/gidmap.c
