# cluster_hello: the front end (hosted, front.c) and the image of its nodes (native, node.c),
# sharing the printer Ebb (docs/cluster.md).
HOSTED_APPS += cluster_hello
EBB_IFACES += apps/cluster_hello/printer.ebb.h
cluster_hello_SRCS := apps/cluster_hello/front.c apps/cluster_hello/printer.c \
                      $(B)/gen/apps/cluster_hello/printer.gen.c
cluster_hello_NATIVE_SRCS := apps/cluster_hello/node.c apps/cluster_hello/printer.c \
                             $(B)/gen/apps/cluster_hello/printer.gen.c \
                             $(B)/gen/apps/cluster_hello/bindings.gen.c
cluster_hello_MANIFEST := apps/cluster_hello/ebb.manifest
