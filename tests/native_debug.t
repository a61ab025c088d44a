#!/bin/sh
# make debug's path: QEMU starts stopped with its gdb stub, gdb attaches with the image's symbols
# and stops at the kernel's C entry (a hardware breakpoint: the loader overwrites memory).
. tests/lib.sh
echo "1..2"
port=$(free_port) || exit 1
out=$(timeout 60 scripts/qemu-run --debug=$port build/native/helloworld.elf </dev/null 2>&1)
if printf '%s\n' "$out" | grep -q "Breakpoint 1, native_kmain (magic=" && printf '%s\n' "$out" | grep -q "at platform/native/platform.c:"; then
  echo "ok 1 - gdb stops at native_kmain, with its source"
else
  echo "not ok 1 - gdb did not stop at native_kmain"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
fi
if ! ss -ltn 2>/dev/null | grep -q ":$port "; then
  echo "ok 2 - leaving gdb ends QEMU too"
else
  echo "not ok 2 - QEMU still listens on $port"
fi
