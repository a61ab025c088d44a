# The native platform (docs/native.md): boot, memory, traps, ACPI, APIC, SMP, interrupts, the
# vmem window and a small libc, linked with core/ (and mem/, net/) into build/native/<app>.elf.
NATIVE_SRCS += platform/native/boot.S platform/native/platform.c platform/native/mm.c \
               platform/native/trap.c platform/native/acpi.c platform/native/apic.c \
               platform/native/smp.c platform/native/serial.c platform/native/irq.c \
               platform/native/vm.c platform/native/random.c \
               platform/native/libc/string.c platform/native/libc/printf.c \
               platform/native/libc/stdlib.c platform/native/libc/malloc.c
# The wall clock behind CLOCK_REALTIME (the CMOS clock).
NATIVE_SRCS += platform/native/rtc.c

# The core and mem tests that need no Linux services also run natively (their sources are set in
# tests/module.mk and mem/module.mk); core_ebb wants 4 cores.
NATIVE_TESTS += core_ebb core_event core_future mem_vmem mem_ebb
core_ebb_NATIVE_SMP := 4

# Tests of the platform itself: TAP images run by scripts/native-test ...
NATIVE_TESTS += native_irq native_libc native_percore native_vm
native_irq_SRCS := tests/native_irq.c
native_libc_SRCS := tests/native_libc.c
native_percore_SRCS := tests/native_percore.c
native_vm_SRCS := tests/native_vm.c
# ... and images that must fail in a given way, checked by scripts.
NATIVE_APPS += native_fault native_overflow native_hang
native_fault_SRCS := tests/native_fault.c
native_overflow_SRCS := tests/native_overflow.c
native_hang_SRCS := tests/native_hang.c
TEST_SCRIPTS += tests/native_hello.t tests/native_fault.t tests/native_hang.t tests/native_debug.t

# make bench: boot time and image size (tests/bench/native_boot.sh), remote spawn by IPI.
NATIVE_APPS += native_boot native_spawn
native_boot_SRCS := tests/bench/native_boot.c
native_spawn_SRCS := tests/bench/native_spawn.c
BENCHES += bench-native-boot bench-native-spawn
bench-native-boot: $(B)/native/native_boot.elf $(B)/native/helloworld.elf
	tests/bench/native_boot.sh $(B)
bench-native-spawn: $(B)/native/native_spawn.elf
	for i in 1 2 3; do ACCEL=tcg scripts/qemu-run --smp 2 $<; done
