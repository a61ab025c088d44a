#!/bin/sh
# Remote Ebb calls: marshal / dispatch / whole-call costs in instructions (callgrind,
# deterministic) beside a local Ebb call and a malloc+memcpy+free of the payload; then the round
# trip of a remote call between two hosted processes on loopback beside a plain TCP ping-pong
# moving the same bytes, in the same run (medians).
set -eu
bin=${1:-build/hosted/bench/msgbench}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cg() { f=$1; shift; valgrind --tool=callgrind --callgrind-out-file="$out/$f" "$bin" "$@" >/dev/null 2>&1; }
incl() { callgrind_annotate --inclusive=yes "$out/$1" 2>/dev/null | awk -v f="$2" '$0 ~ ":"f" " {gsub(",","",$1); print $1; exit}'; }

N=20000
cg cost cost $N
cg stub cost_stub $N
per() { awk -v a="$1" -v n=$N 'BEGIN { printf "%.0f", a / n }'; }
local_call=$(per "$(incl cost loop_local_call)")
copy=$(per "$(incl cost loop_copy_baseline)")
d_add=$(per "$(incl cost loop_dispatch_add)")
d_put=$(per "$(incl cost loop_dispatch_put64)")
self=$(per "$(incl cost loop_self_call)")
s_add=$(per "$(incl stub loop_stub_add)")
s_put=$(per "$(incl stub loop_stub_put64)")
echo "instructions per call: local Ebb call $local_call; malloc+memcpy+free of the payload $copy"
echo "  add(u64, i8, bool):  stub (marshal + future) $s_add, dispatch (unmarshal + call + reply) $d_add"
echo "  put(64-byte key):    stub $s_put, dispatch $d_put"
echo "  whole call to this node through the Messenger (stub, frame, serve, reply, unpack, future): $self"
awk -v s="$s_add" -v d="$d_add" -v c="$copy" -v l="$local_call" 'BEGIN {
  printf "  marshal+dispatch of add = %d instructions = %.1f x (malloc+memcpy+free), %.1f x a local Ebb call\n", s+d, (s+d)/c, (s+d)/l }'

for size in 64 4096; do
    "$bin" rtt 20000 $size | awk -v sz=$size '{v[$1]=$2} END {
      printf "round trip, %d-byte buffer: remote call %.1f us, plain TCP ping-pong of the same bytes %.1f us, ratio %.2f\n", sz, v["msg_rtt_ns"]/1000, v["tcp_rtt_ns"]/1000, v["msg_rtt_ns"]/v["tcp_rtt_ns"] }'
done
