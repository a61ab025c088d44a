#!/bin/sh
# Two "hosts" sharing one ZooKeeper, the way an application spans real machines (docs/cluster.md):
# two network namespaces joined by a veth pair stand for the machines, ZooKeeper runs on the
# first. Node 5 on the second host joins the GlobalIdMap with its Messenger's address; node 1 on
# the first host finds node 5 there (it was told only where ZooKeeper is) and calls an Ebb on it.
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
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

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
[ $fail = 0 ] || { sed 's/^/# serve: /' "$TMP/serve" | head -10; sed 's/^/# call: /' "$TMP/call" | head -10; }
echo "1..$n"
exit $fail
