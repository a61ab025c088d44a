#!/bin/sh
# The libFuzzer targets (tests/fuzz/, docs/fuzzing.md): each replays its checked-in corpus (seeds
# and the regression inputs of crashes found), then fuzzes briefly from there. New inputs and
# crash files go to a temporary folder: nothing is written into the tree.
B=${B:-build}/fuzz
targets="config stack msg"
echo "1..6"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
report() { # status, description, log
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else
    echo "not ok $n - $2"; tail -30 "$3" | sed 's/^/#   /'; fi
}
for t in $targets; do
  bin=$B/fuzz_$t
  log=$tmp/$t.log
  mkdir -p "$tmp/$t"
  files=$(ls tests/fuzz/corpus/$t/* 2>/dev/null | wc -l)
  timeout 300 "$bin" -close_fd_mask=3 -artifact_prefix="$tmp/" tests/fuzz/corpus/$t/* >"$log" 2>&1
  report $? "$t: the $files checked-in inputs replay without a crash" "$log"
  timeout 300 "$bin" -close_fd_mask=3 -runs=3000 -max_total_time=30 -artifact_prefix="$tmp/" \
    "$tmp/$t" tests/fuzz/corpus/$t >"$log" 2>&1
  st=$?
  execs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$log" | tail -1)
  report $st "$t: fuzzed ${execs:-?} inputs from the corpus without a crash" "$log"
done
