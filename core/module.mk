CORE_SRCS += core/ebb.c core/event.c core/context.c core/switch.S core/future.c core/rcu.c core/start.c \
             core/config.c core/log.c core/sha256.c core/siphash.c core/msg_stub.c
