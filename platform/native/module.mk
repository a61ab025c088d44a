# The native platform (docs/native.md): boot, memory, traps, ACPI, APIC, SMP, interrupts, the
# vmem window and a small libc, linked with core/ (and mem/, net/) into build/native/<app>.elf.
NATIVE_SRCS += platform/native/boot.S platform/native/platform.c platform/native/mm.c \
               platform/native/trap.c platform/native/acpi.c platform/native/apic.c \
               platform/native/smp.c platform/native/serial.c platform/native/irq.c \
               platform/native/vm.c platform/native/random.c platform/native/fw_cfg.c platform/native/pci.c \
               platform/native/virtio.c platform/native/virtio_net.c \
               platform/native/virtio_rng.c \
               platform/native/libc/string.c platform/native/libc/printf.c \
               platform/native/libc/stdlib.c platform/native/libc/malloc.c
# The wall clock behind CLOCK_REALTIME (the CMOS clock).
NATIVE_SRCS += platform/native/rtc.c
