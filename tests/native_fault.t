#!/bin/sh
# A NULL dereference in a native image: the fault is reported with the faulting address,
# registers and a symbolised backtrace, and the VM exits with the fault status 126 (not a hang,
# not a reset; docs/native.md).
img=build/native/native_fault.elf
echo "1..7"
out=$(scripts/qemu-run --smp 2 --timeout 60 "$img" 2>&1)
rc=$?
check() { # n description pattern
  if printf '%s\n' "$out" | grep -q -- "$3"; then echo "ok $1 - $2"; else echo "not ok $1 - $2"; fail=1; fi
}
if [ $rc = 126 ]; then echo "ok 1 - the VM exits with the fault status 126"; else echo "not ok 1 - exit status $rc, want 126"; fail=1; fi
check 2 "the fault is named, with its address and access" 'fault address 0x0 (not mapped, read)'
check 3 "registers are printed" 'rip ffffffff8'
check 4 "the backtrace names the faulting function" '#0 0x[0-9a-f]* fault_deref[.a-z0-9]*+0x'
check 5 "the backtrace goes up to main" '#[0-9] 0x[0-9a-f]* main+0x'
[ -z "$fail" ] || printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
# Running off a stack: the guard page below it turns the overflow into a report.
fail=
out=$(scripts/qemu-run --smp 2 --timeout 60 build/native/native_overflow.elf 2>&1)
rc=$?
if [ $rc = 126 ]; then echo "ok 6 - a stack overflow stops the VM with the fault status"; else echo "not ok 6 - status $rc"; fail=1; fi
check 7 "it is named a stack overflow" 'stack overflow: 0x[0-9a-f]* is the guard page below a stack'
[ -z "$fail" ] || printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
