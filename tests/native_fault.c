/* A native image that dereferences NULL: tests/native_fault.t checks that the fault is reported
 * with registers and a symbolised backtrace, and that the VM exits with a non-zero status. */
#include <stdio.h>

__attribute__((noinline)) static int fault_deref(volatile int *p)
{
    return *p + 1;
}

__attribute__((noinline)) int fault_caller(void)
{
    return fault_deref((volatile int *)0) * 2;
}

int main(void)
{
    printf("about to fault\n");
    return fault_caller();
}
