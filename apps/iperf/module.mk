HOSTED_APPS += iperf
iperf_SRCS := apps/iperf/iperf.c
