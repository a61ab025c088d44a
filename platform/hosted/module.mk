HOSTED_SRCS += platform/hosted/main.c
