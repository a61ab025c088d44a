# offload: a hosted program sends work to native back ends and gathers it with when_all
# (docs/cluster.md); the front end (front.c) and its nodes' image (node.c) share work.c.
HOSTED_APPS += offload
EBB_IFACES += apps/offload/work.ebb.h
offload_SRCS := apps/offload/front.c apps/offload/work.c $(B)/gen/apps/offload/work.gen.c
offload_NATIVE_SRCS := apps/offload/node.c apps/offload/work.c $(B)/gen/apps/offload/work.gen.c \
                       $(B)/gen/apps/offload/bindings.gen.c
offload_MANIFEST := apps/offload/ebb.manifest
