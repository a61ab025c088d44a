#!/bin/sh
# The runtime's tests under valgrind memcheck: no invalid access, no leak (ASan covers the same
# ground at build time; memcheck also sees the plain -O2 build and the context switches).
B=${B:-build}
tests="core_ebb core_event core_future"
echo "1..$(echo $tests | wc -w)"
n=0; fail=0
for t in $tests; do
  n=$((n+1))
  log=$(mktemp)
  if timeout 300 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       "$B/hosted/tests/$t" >/dev/null 2>"$log"; then
    echo "ok $n - $t: memcheck clean"
  else
    echo "not ok $n - $t under memcheck"; sed 's/^/# /' "$log" | head -40; fail=1
  fi
  rm -f "$log"
done
exit $fail
