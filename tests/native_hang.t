#!/bin/sh
# A guest that hangs fails its test at the wrapper's timeout, and the failure shows the guest's
# last output (scripts/native-test, scripts/qemu-run --timeout). How long it took is printed, not
# asserted: timings belong in benchmarks, and the suite's time limit bounds it anyway.
echo "1..2"
start=$(date +%s)
err=$(NATIVE_TEST_TIMEOUT=5 scripts/native-test build/native/native_hang.elf 2>&1 >/dev/null)
rc=$?
took=$(($(date +%s) - start))
if [ $rc = 124 ]; then echo "ok 1 - a hung guest fails (status 124)"; else echo "not ok 1 - status $rc"; fi
echo "# stopped after ${took} s"
if printf '%s\n' "$err" | grep -q "timed out after 5s" && printf '%s\n' "$err" | grep -q "| about to hang"; then
  echo "ok 2 - the message says it timed out and shows the guest's last output"
else
  echo "not ok 2 - stderr was:"; printf '%s\n' "$err" | sed 's/^/# /'
fi
