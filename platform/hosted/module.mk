HOSTED_SRCS += platform/hosted/main.c platform/hosted/random.c
