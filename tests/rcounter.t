#!/bin/sh
# apps/rcounter, the remote-call example: one node calling itself, then two processes on loopback
# (node 1 updates and reads node 0's counter through the Messenger, then stops it), then the
# native image calling itself.
B=${B:-build}
bin=$B/hosted/rcounter
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

out=$(timeout 20 "$bin" cores=1 calls=3); rc=$?
t "$([ $rc = 0 ] && [ "$out" = "counter of node 0: 3" ]; echo $?)" "one node calling its own counter: '$out'"

. tests/lib.sh
port=$(free_port) || exit 1
timeout 30 "$bin" cores=1 cpu=1 node=0 listen=$port > /dev/null 2>&1 &
server=$!
out=$(timeout 30 "$bin" cores=1 node=1 peers=0@127.0.0.1:$port target=0 calls=100 stop=1); rc=$?
t "$([ $rc = 0 ] && [ "$out" = "counter of node 0: 100" ]; echo $?)" "node 1 adds 100 to node 0's counter and reads it: '$out'"
wait $server; rc=$?
t $rc "node 0 exits 0 when node 1 stops it"

out=$(timeout 20 "$bin" cores=1 node=1 target=3 calls=1 2>&1); rc=$?
t "$([ $rc = 1 ] && echo "$out" | grep -q "call to node 3 failed: error 113"; echo $?)" "a node with no address fails with EHOSTUNREACH"
out=$(timeout 20 "$bin" cores=1 peers=0@nowhere:70000 calls=1 2>&1); rc=$?
t "$([ $rc = 2 ] && echo "$out" | grep -q "peers=: '0@nowhere:70000' is not NODE@ADDR:PORT"; echo $?)" "a malformed peers= value: exit 2 and a message"

# The same code in the native image (QEMU): there, only the node itself is reachable for now.
out=$(scripts/qemu-run --smp 1 --timeout 60 "$B/native/rcounter.elf" calls=3 2>&1); rc=$?
t "$([ $rc = 0 ] && [ "$(printf '%s\n' "$out" | tail -1)" = "counter of node 0: 3" ]; echo $?)" "native image: its own counter through the stubs: '$(printf '%s' "$out" | tail -1)'"
echo "1..$n"
exit $fail
