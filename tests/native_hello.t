#!/bin/sh
# The native helloworld on 2 vCPUs: each core prints "hello from core <n>" from its own rep of a
# per-core Ebb, and QEMU exits with status 0.
img=build/native/helloworld.elf
echo "1..5"
out=$(scripts/qemu-run --smp 2 --timeout 60 "$img" 2>&1)
rc=$?
if [ $rc = 0 ]; then echo "ok 1 - exit status 0"; else echo "not ok 1 - exit status $rc"; fi
got=$(printf '%s\n' "$out" | grep '^hello from core' | sort | tr '\n' ',')
if [ "$got" = "hello from core 0,hello from core 1," ]; then
  echo "ok 2 - one hello from each of cores 0 and 1"
else
  echo "not ok 2 - hellos: '$got'"
fi
if [ "$(printf '%s\n' "$out" | grep -vc '^hello from core')" = 0 ]; then
  echo "ok 3 - nothing else on the console"
else
  echo "not ok 3 - unexpected output"
fi
[ $rc = 0 ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
out=$(scripts/qemu-run --smp 2 --timeout 60 "$img" cores=1 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$out" = "hello from core 0" ]; then
  echo "ok 4 - cores=1: core 0 alone answers"
else
  echo "not ok 4 - cores=1: status $rc, output '$out'"
fi
out=$(scripts/qemu-run --smp 2 --timeout 60 "$img" cores=3 2>&1)
rc=$?
if [ $rc = 2 ] && printf '%s\n' "$out" | grep -q "cores=3: expected a whole number from 1 to 2"; then
  echo "ok 5 - cores=3 on 2 CPUs: exit 2 and a message naming the key"
else
  echo "not ok 5 - cores=3: status $rc, output '$out'"
fi
