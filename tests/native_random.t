#!/bin/sh
# The native source of randomness (platform/native/random.c): RDRAND where the CPU has it; on a
# CPU without it (QEMU's plain qemu64), a virtio-rng device, with the firmware assigning its BAR
# (SeaBIOS) or the kernel doing it (qboot); with neither, the machine stops at boot with a message
# that names both, before anything draws.
img=build/native/native_random.elf
echo "1..10"
n=0
run() { # expected-source description qemu-run arguments...
  want=$1 what=$2; shift 2
  out=$(scripts/qemu-run --smp 2 --timeout 120 "$@" "$img" 2>&1)
  rc=$?
  n=$((n + 1))
  if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -q "^not ok"; then
    echo "ok $n - $what: the image's checks pass"
  else
    echo "not ok $n - $what: status $rc"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /'
  fi
  n=$((n + 1))
  if printf '%s\n' "$out" | grep -q "^ok 1 - randomness from $want$"; then
    echo "ok $n - $what: drawn from $want"
  else
    echo "not ok $n - $what: not drawn from $want"
  fi
}
run RDRAND "a CPU with RDRAND"
run virtio-rng "no RDRAND, virtio-rng (SeaBIOS)" --qemu -cpu --qemu qemu64 \
    --qemu -device --qemu virtio-rng-pci
run virtio-rng "no RDRAND, virtio-rng (qboot: BAR assigned by the kernel)" --firmware qboot \
    --qemu -cpu --qemu qemu64 --qemu -device --qemu virtio-rng-pci,romfile=
run virtio-rng "no RDRAND, a modern-only virtio-rng" --qemu -cpu --qemu qemu64 \
    --qemu -device --qemu virtio-rng-pci,disable-legacy=on
# Neither: a clear stop at boot, not a hang and not predictable keys.
out=$(scripts/qemu-run --smp 2 --timeout 60 --qemu -cpu --qemu qemu64 "$img" 2>&1)
rc=$?
n=$((n + 1))
if [ $rc = 3 ]; then echo "ok $n - no RDRAND and no device: the machine stops with status 3"
else echo "not ok $n - no RDRAND and no device: status $rc, want 3"; fi
n=$((n + 1))
if printf '%s\n' "$out" | grep -q "no source of randomness: this CPU has no RDRAND and there is no virtio-rng device" \
   && ! printf '%s\n' "$out" | grep -q "^ok"; then
  echo "ok $n - it says why, before any test ran"
else
  echo "not ok $n - no clear message"; printf '%s\n' "$out" | tail -n 10 | sed 's/^/# /'
fi
