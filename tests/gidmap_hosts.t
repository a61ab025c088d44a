#!/bin/sh
# Two "hosts" sharing one ZooKeeper, the way an application spans real machines (docs/cluster.md):
# two network namespaces joined by a veth pair stand for the machines, ZooKeeper runs on the
# first.
# 1. Hosted nodes: node 5 on the second host joins the GlobalIdMap with its Messenger's address;
#    node 1 on the first host finds node 5 there (it was told only where ZooKeeper is) and calls
#    an Ebb on it.
# 2. A front end and a native node on each host: front end 0 on the first (its node 1), front end
#    40 on the second (its node 41), the same cluster key, their switches linked by an uplink over
#    the veth pair; node 41 sees node 1 among the GlobalIdMap's members and calls it, native node
#    to native node across the hosts; freed, node 41 leaves the members.
. tests/lib.sh
. tests/zk_lib.sh
B=${B:-build}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (network namespaces)"; exit 0; fi
TMP=$(mktemp -d /tmp/ebbhosts.XXXXXX)
NSA=ebbg-$$-a NSB=ebbg-$$-b
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  zk_stop
  ns_delete $NSA $NSB
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
n=0; fail=0

ip netns add $NSA && ip netns add $NSB &&
ip link add ebbg$$a netns $NSA type veth peer name ebbg$$b netns $NSB &&
ip -n $NSA addr add 10.77.0.1/24 dev ebbg$$a && ip -n $NSB addr add 10.77.0.2/24 dev ebbg$$b &&
ip -n $NSA link set ebbg$$a up && ip -n $NSB link set ebbg$$b up &&
ip -n $NSA link set lo up && ip -n $NSB link set lo up
t $? "two hosts: namespaces $NSA (10.77.0.1) and $NSB (10.77.0.2) joined by a veth pair"
zk_start "$TMP/zk" 10.77.0.1 2181 $NSA
t $? "ZooKeeper runs on the first host (10.77.0.1:2181, inside its namespace)"
head -c 32 /dev/urandom > "$TMP/key"; chmod 600 "$TMP/key"
common="globalidmap=zk:10.77.0.1:2181 key_file=$TMP/key"
ip netns exec $NSB "$B/hosted/tests/gidmap" role=serve node=5 ip=10.77.0.2 listen=7005 listen_addr=10.77.0.2 $common > "$TMP/serve" 2>&1 &
PIDS="$PIDS $!"
i=0; while ! grep -q serving "$TMP/serve" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "node 5 serving at 10.77.0.2:7005" "$TMP/serve"
t $? "node 5 on the second host joins the GlobalIdMap with its address"
ip netns exec $NSA timeout 120 "$B/hosted/tests/gidmap" role=call node=1 target=5 ip=10.77.0.1 $common > "$TMP/call" 2>&1
rc=$?
grep -q "called node 5 at 10.77.0.2:7005: error 0, value 42" "$TMP/call" && [ $rc = 0 ]
t $? "node 1 on the first host finds node 5 through ZooKeeper and calls its Ebb: $(head -1 "$TMP/call")"

export XDG_RUNTIME_DIR=$TMP
ip netns exec $NSA "$B/hosted/cluster_test" mode=hosts node=0 cluster_uplink_listen=10.77.0.1:7100 $common > "$TMP/fa" 2>&1 &
fa=$!; PIDS="$PIDS $fa"
i=0; while ! grep -q '^up' "$TMP/fa" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
grep -q '^up 1$' "$TMP/fa"
t $? "front end 0 on the first host has its native node 1 up"
out=$(ip netns exec $NSB timeout 200 "$B/hosted/cluster_test" mode=hosts node=40 cluster_uplink=10.77.0.1:7100 call_node=1 $common 2>"$TMP/fb"); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q '^node 41 -> node 1: 1005 '
t $? "native node 41 of the second host's front end calls native node 1 of the first: $(echo "$out" | head -1)"
echo "$out" | grep -q '^node 41 left the members$'
t $? "node 41, freed, leaves the members in ZooKeeper"
kill -TERM $fa; wait $fa
i=0; while pgrep -f "qemu-system-x86_64.*$TMP" > /dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
! pgrep -f "qemu-system-x86_64.*$TMP" > /dev/null && [ -z "$(find "$TMP/ebbrt-cluster-$(id -u)" -mindepth 1 2>/dev/null)" ]
t $? "both front ends gone: no QEMU and no run directory left"
[ $fail = 0 ] || { sed 's/^/# serve: /' "$TMP/serve" | head -10; sed 's/^/# call: /' "$TMP/call" | head -10;
                   sed 's/^/# front end 0: /' "$TMP/fa" | head -10; sed 's/^/# front end 40: /' "$TMP/fb" | head -10; }
echo "1..$n"
exit $fail
