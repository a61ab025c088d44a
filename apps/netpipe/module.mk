HOSTED_APPS += netpipe
netpipe_SRCS := apps/netpipe/netpipe.c
