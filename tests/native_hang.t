#!/bin/sh
# A guest that hangs fails its test within the wrapper's bounded time, and the failure shows the
# guest's last output (scripts/native-test, scripts/qemu-run --timeout).
echo "1..3"
start=$(date +%s)
err=$(NATIVE_TEST_TIMEOUT=5 scripts/native-test build/native/native_hang.elf 2>&1 >/dev/null)
rc=$?
took=$(($(date +%s) - start))
if [ $rc = 124 ]; then echo "ok 1 - a hung guest fails (status 124)"; else echo "not ok 1 - status $rc"; fi
if [ $took -le 15 ]; then echo "ok 2 - within the timeout (${took}s)"; else echo "not ok 2 - took ${took}s"; fi
if printf '%s\n' "$err" | grep -q "timed out after 5s" && printf '%s\n' "$err" | grep -q "| about to hang"; then
  echo "ok 3 - the message says it timed out and shows the guest's last output"
else
  echo "not ok 3 - stderr was:"; printf '%s\n' "$err" | sed 's/^/# /'
fi
