/* A native image that hangs with interrupts off: tests/native_hang.t checks that the test
 * wrapper stops it within its timeout and shows the guest's last output. */
#include <stdio.h>

int main(void)
{
    printf("about to hang\n");
    for (;;)
        __asm__ volatile("cli; pause");
}
