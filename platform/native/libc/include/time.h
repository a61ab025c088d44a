/* Only what portable code needs for timing: CLOCK_MONOTONIC from the TSC, CLOCK_REALTIME from
 * the CMOS clock read at the first call, advanced by the monotonic clock (platform/native/rtc.c). */
#pragma once
#include <stdint.h>
typedef long time_t;
typedef int clockid_t;
struct timespec { time_t tv_sec; long tv_nsec; };
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
int clock_gettime(clockid_t clk, struct timespec *ts);
