/* Boot-time probe for `make bench` (tests/bench/native_boot.sh): prints the in-guest TSC stamps
 * as soon as main() runs, then brings up the event loop on every core and exits from app_main,
 * so the host side can time QEMU start -> main and -> exit. Under TCG the guest TSC counts from
 * the moment the VM starts running, so boot_tsc is also the firmware's share. */
#include <stdio.h>
#include "core/event.h"
#include "ebb_native.h"

void app_main(void) { ebb_exit(0); }

int main(int argc, char **argv)
{
    double hz = (double)ebb_native_tsc_hz();
    uint64_t boot = ebb_native_boot_tsc(), m = ebb_native_main_tsc();
    printf("boot-probe firmware_ms=%.3f kernel_to_main_ms=%.3f tsc_mhz=%.1f\n", (double)boot / hz * 1e3,
           (double)(m - boot) / hz * 1e3, hz / 1e6);
    return ebb_run(argc, argv);
}
