/* Native-only services for applications and drivers. */
#pragma once
#include <stdint.h>

/* The library's main() (weak) calls this: parses the kernel command line as key=value (cores=N:
 * how many CPUs to use, default all), starts the cores' loops, runs app_main() on core 0, and
 * returns the code given to ebb_exit(). A program with its own main() may call it too. */
int ebb_native_run(int argc, char **argv);

/* Boot-time stamps (TSC) and the TSC rate, for boot-time measurements. */
uint64_t ebb_native_boot_tsc(void);   /* first instruction of the kernel */
uint64_t ebb_native_main_tsc(void);   /* when main() was called */
uint64_t ebb_native_tsc_hz(void);
