#!/bin/sh
# The GlobalIdMap on ZooKeeper: the checks of tests/gidmap.c (two nodes, 1,000 ids, membership)
# with globalidmap=zk:127.0.0.1:PORT against a ZooKeeper server started here on a free loopback
# port and stopped after; then the data is protected: a ZooKeeper client without the cluster
# key may not read an id's znode.
. tests/lib.sh
. tests/zk_lib.sh
B=${B:-build}
TMP=$(mktemp -d /tmp/ebbzk.XXXXXX)
trap 'zk_stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
port=$(free_port) || { echo "1..0 # SKIP no free port"; exit 0; }
if ! zk_start "$TMP/zk" 127.0.0.1 "$port"; then echo "1..1"; echo "not ok 1 - ZooKeeper starts on 127.0.0.1:$port"; exit 1; fi
head -c 32 /dev/urandom > "$TMP/key"; chmod 600 "$TMP/key"
# The C test's own TAP (its plan first), then two lines more: the plan is rewritten to include them.
"$B/hosted/tests/gidmap" globalidmap=zk:127.0.0.1:$port key_file="$TMP/key" gidmap_zk_path=/t$$ > "$TMP/out" 2>"$TMP/err"
rc=$?
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$TMP/out" | head -1)
planned=${planned:-0}
echo "1..$((planned + 2))"
grep -v '^1\.\.' "$TMP/out"
sed 's/^/# /' "$TMP/err" | head -20
n=$planned; fail=0
[ "$rc" = 0 ] || fail=1
n=$((n + 1))
# zkCli.sh: a Java client; without the key it is refused (Insufficient permission / NoAuth).
id=$(printf '%08x' $((1 * 65536 + 1)))
out=$(ZOO_LOG_DIR=$TMP timeout 60 /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:$port get /t$$/ids/$id 2>&1)
if echo "$out" | grep -q "Insufficient permission\|NoAuth"; then echo "ok $n - a client without the cluster key may not read an id's data"
else echo "not ok $n - a client without the cluster key may not read an id's data"; echo "$out" | tail -5 | sed 's/^/# /'; fail=1; fi
n=$((n + 1))
if echo "$out" | grep -q "Node does not exist"; then echo "not ok $n - the id's znode exists"; fail=1
else echo "ok $n - the id's znode exists (the refusal was not for a missing node)"; fi
exit $fail
