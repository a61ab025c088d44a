#!/bin/sh
# apps/rcounter, the remote-call example: one node calling itself, then two processes on loopback
# (node 1 updates and reads node 0's counter through the Messenger, then stops it), then the
# native image calling itself, then the native image serving a hosted node over QEMU's user
# network with the cluster key it read from a QEMU fw_cfg file.
B=${B:-build}
bin=$B/hosted/rcounter
n=0; fail=0
. tests/lib.sh

out=$(timeout 20 "$bin" cores=1 calls=3); rc=$?
t "$([ $rc = 0 ] && [ "$out" = "counter of node 0: 3" ]; echo $?)" "one node calling its own counter: '$out'"

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

# The same code in the native image (QEMU), calling itself.
out=$(scripts/qemu-run --smp 1 --timeout 60 "$B/native/rcounter.elf" calls=3 2>&1); rc=$?
t "$([ $rc = 0 ] && [ "$(printf '%s\n' "$out" | tail -1)" = "counter of node 0: 3" ]; echo $?)" "native image: its own counter through the stubs: '$(printf '%s' "$out" | tail -1)'"

# Without a key a native node may not listen: over its own stack 127.0.0.1 means its address on
# the network, which anyone reaching it could call.
out=$(scripts/qemu-run --smp 1 --timeout 60 --net user "$B/native/rcounter.elf" node=0 listen=7000 2>&1); rc=$?
t "$([ $rc != 0 ] && echo "$out" | grep -q "listening on a network interface needs a cluster key"; echo $?)" "native node: listening without a key is refused (status $rc)"

# The native Messenger serving a hosted node: the key reaches the guest as a fw_cfg file (not on
# its command line); a hosted node with another key is refused, one with the key gets through.
dir=$(mktemp -d); trap 'kill $qpid 2>/dev/null; rm -rf "$dir"' EXIT
head -c 32 /dev/urandom > "$dir/key"; head -c 32 /dev/urandom > "$dir/bad"; chmod 600 "$dir/key" "$dir/bad"
port=$(free_port) || exit 1
scripts/qemu-run --smp 1 --timeout 120 --net user,hostfwd=tcp:127.0.0.1:$port-:7000 \
  --qemu -fw_cfg --qemu "name=opt/ebbrt/key,file=$dir/key" "$B/native/rcounter.elf" \
  node=0 listen=7000 key_file=opt/ebbrt/key log=info > "$dir/node.log" 2>&1 &
qpid=$!
# QEMU accepts forwarded connections before the guest listens: wait for its address.
i=0; while [ $i -lt 600 ] && ! grep -q "net: address" "$dir/node.log"; do sleep 0.1; i=$((i+1)); done
out=$(timeout 60 "$bin" cores=1 node=1 peers=0@127.0.0.1:$port key_file="$dir/bad" target=0 calls=1 2>&1); rc=$?
t "$([ $rc = 1 ] && echo "$out" | grep -q "call to node 0 failed: error 13"; echo $?)" "native node: a hosted node with another key is refused (EACCES)"
out=$(timeout 60 "$bin" cores=1 node=1 peers=0@127.0.0.1:$port key_file="$dir/key" target=0 calls=100 stop=1 2>&1); rc=$?
t "$([ $rc = 0 ] && [ "$out" = "counter of node 0: 100" ]; echo $?)" "native node serves a hosted node's 100 calls, key from fw_cfg: '$out'"
wait $qpid; rc=$?
t $rc "the native node exits 0 when the hosted node stops it"
[ $rc = 0 ] || sed 's/^/# /' "$dir/node.log"
echo "1..$n"
exit $fail
