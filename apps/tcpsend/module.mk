HOSTED_APPS += tcpsend
tcpsend_SRCS := apps/tcpsend/tcpsend.c
