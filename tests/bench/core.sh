#!/bin/sh
# Ebb call fast path in instructions (callgrind, deterministic) beside a direct call and a call
# through a function pointer in the same run; spawn costs in instructions and nanoseconds.
set -eu
bin=${1:-build/hosted/bench/ebbcall}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cg() { f=$1; shift; valgrind --tool=callgrind --callgrind-out-file="$out/$f" "$bin" "$@" >/dev/null 2>&1; }
incl() { callgrind_annotate --inclusive=yes "$out/$1" 2>/dev/null | awk -v f="$2" '$0 ~ ":"f" " {gsub(",","",$1); print $1; exit}'; }
tot() { callgrind_annotate "$out/$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}'; }

N=1000000
cg calls calls $N
awk -v d="$(incl calls loop_direct)" -v p="$(incl calls loop_fnptr)" -v e="$(incl calls loop_ebb)" \
    -v s="$(incl calls loop_ebb_static)" -v n=$N 'BEGIN {
  printf "ebb call, instructions per call (loop included): direct %.2f, function pointer %.2f, ebb (id in a variable) %.2f, ebb (static id) %.2f\n", d/n, p/n, e/n, s/n
  printf "ebb call - function pointer call: %+.2f instructions (variable id), %+.2f (static id); target <= +3\n", (e-p)/n, (s-p)/n }'
# Spawn: whole-program instructions for N and 2N events; the difference is N spawns + runs.
cg l1 local 100000; cg l2 local 200000
echo "spawn local: $(( ($(tot l2) - $(tot l1)) / 100000 )) instructions per spawn+run"
"$bin" calls 20000000 | awk '{v[$1]=$2} END {printf "ebb call time: ebb/fnptr=%.2f ebb/direct=%.2f (ns per call: direct %.2f, fnptr %.2f, ebb %.2f)\n", v["ebb_ns"]/v["fnptr_ns"], v["ebb_ns"]/v["direct_ns"], v["direct_ns"], v["fnptr_ns"], v["ebb_ns"]}'
"$bin" local 2000000
{ "$bin" remote 200000; "$bin" pipe 200000; } | awk '{v[$1]=$2} END {printf "remote spawn (one way, core 0 <-> core 1 ping-pong): %.0f ns; two threads over pipes: %.0f ns; ratio %.2f\n", v["spawn_remote_ns"], v["pipe_oneway_ns"], v["spawn_remote_ns"]/v["pipe_oneway_ns"]}'
