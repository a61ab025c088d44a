HOSTED_APPS += helloworld
helloworld_SRCS := apps/helloworld/hello.c $(B)/gen/apps/helloworld/hello.gen.c
EBB_IFACES += apps/helloworld/hello.ebb.h
helloworld_MANIFEST := apps/helloworld/ebb.manifest
