NATIVE_SRCS += platform/native/boot.S platform/native/platform.c platform/native/mm.c \
               platform/native/trap.c platform/native/acpi.c platform/native/apic.c \
               platform/native/smp.c platform/native/serial.c platform/native/irq.c platform/native/vm.c \
               platform/native/libc/string.c platform/native/libc/printf.c \
               platform/native/libc/stdlib.c platform/native/libc/malloc.c

NATIVE_APPS += native_boot native_spawn
native_boot_SRCS := tests/bench/native_boot.c
native_spawn_SRCS := tests/bench/native_spawn.c
NATIVE_APPS += native_fault native_overflow
native_fault_SRCS := tests/native_fault.c
native_overflow_SRCS := tests/native_overflow.c
TEST_SCRIPTS += tests/native_hello.t tests/native_fault.t

# The core and mem tests that need no Linux services, also run natively (tests/*.c, sources set in tests/module.mk).
NATIVE_TESTS += core_ebb core_event core_future mem_vmem mem_ebb
core_ebb_NATIVE_SMP := 4
NATIVE_APPS += native_hang
native_hang_SRCS := tests/native_hang.c
TEST_SCRIPTS += tests/native_hang.t tests/native_debug.t

# Native-only tests of the platform itself.
NATIVE_TESTS += native_irq native_libc native_percore native_vm
native_irq_SRCS := tests/native_irq.c
native_libc_SRCS := tests/native_libc.c
native_percore_SRCS := tests/native_percore.c
native_vm_SRCS := tests/native_vm.c

# make bench: boot time and image size (tests/bench/native_boot.sh), remote spawn by IPI.
BENCHES += bench-native-boot bench-native-spawn
bench-native-boot: $(B)/native/native_boot.elf $(B)/native/helloworld.elf
	tests/bench/native_boot.sh $(B)
bench-native-spawn: $(B)/native/native_spawn.elf
	for i in 1 2 3; do ACCEL=tcg scripts/qemu-run --smp 2 $<; done
