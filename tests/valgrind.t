#!/bin/sh
# The runtime's tests under valgrind memcheck: no invalid access, no leak (ASan covers the same
# ground at build time; memcheck also sees the plain -O2 build and the context switches).
B=${B:-build}
tests="core_ebb core_event core_future"
echo "1..$(echo $tests | wc -w)"
n=0; fail=0
for t in $tests; do
  n=$((n+1))
  log=$(mktemp); out=$(mktemp)
  if timeout 300 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       "$B/hosted/tests/$t" >"$out" 2>"$log"; then
    echo "ok $n - $t: memcheck clean"
  else
    # Memcheck's report, or else the test's own failures (a check that fails only when slowed).
    echo "not ok $n - $t under memcheck"; grep -v '^ok' "$out" | sed 's/^/# /' | head -20
    sed 's/^/# /' "$log" | head -40; fail=1
  fi
  rm -f "$log" "$out"
done
exit $fail
