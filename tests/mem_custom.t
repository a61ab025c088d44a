#!/bin/sh
# The allocator is replaceable from an image's manifest: tlsf_demo binds EBB_ID_MALLOC to the
# TLSF rep, and its mallocs (checked against TLSF's own counters and pools) come from TLSF,
# hosted on two cores and native under QEMU.
B=${B:-build}
echo "1..4"
out=$(timeout 60 "$B/hosted/tlsf_demo" cores=2 2>&1); rc=$?
if [ $rc = 0 ]; then echo "ok 1 - hosted tlsf_demo exits 0"; else echo "not ok 1 - hosted tlsf_demo: status $rc"; fi
if printf '%s\n' "$out" | grep -q "^tlsf_demo: \([0-9]*\) of \1 malloc-family calls on 2 cores served by TLSF"; then
  echo "ok 2 - hosted: every malloc-family call on both cores was served by TLSF"
else
  echo "not ok 2 - hosted output: $out"
fi
out=$(scripts/qemu-run --smp 2 --timeout 120 "$B/native/tlsf_demo.elf" 2>&1); rc=$?
if [ $rc = 0 ]; then echo "ok 3 - native tlsf_demo exits 0"; else echo "not ok 3 - native tlsf_demo: status $rc"; fi
if printf '%s\n' "$out" | grep -q "^tlsf_demo: \([0-9]*\) of \1 malloc-family calls on 2 cores served by TLSF"; then
  echo "ok 4 - native: every malloc-family call on both cores was served by TLSF"
else
  echo "not ok 4 - native output:"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /'
fi
