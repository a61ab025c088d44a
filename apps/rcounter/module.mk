HOSTED_APPS += rcounter
EBB_IFACES += apps/rcounter/counter.ebb.h
rcounter_SRCS := apps/rcounter/rcounter.c $(B)/gen/apps/rcounter/counter.gen.c
rcounter_MANIFEST := apps/rcounter/ebb.manifest
