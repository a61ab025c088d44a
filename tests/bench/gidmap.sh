#!/bin/sh
# GlobalIdMap get of a 64-byte datum from node 1 (a hosted process), embedded (node 0, another
# hosted process, holds the map; one Messenger round trip on loopback) against ZooKeeper (a server
# started here on a free loopback port; one ZooKeeper round trip), in the same run: mean
# microseconds per get, N gets one after another.
set -u
. tests/lib.sh
. tests/zk_lib.sh
B=${B:-build}
N=${N:-3000}
TMP=$(mktemp -d /tmp/ebbzkb.XXXXXX)
trap 'zk_stop; rm -rf "$TMP"' EXIT
get_us() { "$B/hosted/tests/gidmap" bench=$N "$@" 2>/dev/null | awk '/^gidmap_get_us/ {print $2}'; }
emb=$(get_us)
port=$(free_port) && zk_start "$TMP/zk" 127.0.0.1 "$port" || exit 1
head -c 32 /dev/urandom > "$TMP/key"; chmod 600 "$TMP/key"
zk=$(get_us globalidmap=zk:127.0.0.1:$port key_file="$TMP/key" gidmap_zk_path=/b$$)
awk -v e="$emb" -v z="$zk" -v n="$N" 'BEGIN {
  printf "GlobalIdMap get (64 B, %d gets from node 1): embedded %.1f us, ZooKeeper %.1f us; ZooKeeper/embedded %.2f\n", n, e, z, z / e }'
