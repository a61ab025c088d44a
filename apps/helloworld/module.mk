HOSTED_APPS += helloworld
helloworld_SRCS := apps/helloworld/hello.c
