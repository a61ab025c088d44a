/* A native image whose event recurses without end: tests/native_fault.t checks that running
 * off the stack into its guard page is reported as a stack overflow and stops the VM. */
#include <stdio.h>
#include "core/event.h"

static volatile int forever = 1; /* hides the endless recursion from the compiler */

__attribute__((noinline)) static int recurse(volatile char *prev)
{
    volatile char frame[1024];
    frame[0] = prev ? prev[0] + 1 : 0;
    return (forever ? recurse(frame) : 0) + frame[1];
}

void app_main(void)
{
    printf("about to overflow\n");
    recurse(NULL);
}
