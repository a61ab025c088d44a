#!/bin/sh
# NetPIPE (Debian's NPtcp, ping-pong) against this project's stack over a tap device, beside the
# same client against Linux's own stack (NPtcp's receiver in a second namespace over a veth
# pair), and against apps/netpipe over Linux sockets (netif=linux) in that namespace, in the same
# run: 64-byte round trip and 64 KiB goodput. Root. Everything lives in two namespaces made here
# and deleted on exit: A holds the NPtcp client, the tap with our stack behind it and one end of
# the veth pair; B holds the other end.
set -u
B=${B:-build}
[ "$(id -u)" = 0 ] || { echo "bench-net: needs root (tap, netns)"; exit 0; }
TMP=$(mktemp -d /tmp/ebbnetbench.XXXXXX)
TAP=ebbench; NSA=ebbb-$$-a; NSB=ebbb-$$-b; VA=ebva; VB=ebvb
NETA=10.0.1; NETB=10.0.2
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for ns in $NSA $NSB; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
a() { ip netns exec $NSA "$@"; }
b() { ip netns exec $NSB "$@"; }

ip netns add $NSA && ip netns add $NSB || exit 1
a ip link set lo up && b ip link set lo up
a ip tuntap add dev $TAP mode tap && a ip addr add $NETA.1/24 dev $TAP && a ip link set $TAP up
a ip link add $VA type veth peer name $VB netns $NSB
a ip addr add $NETB.1/24 dev $VA && a ip link set $VA up
b ip addr add $NETB.2/24 dev $VB && b ip link set $VB up

wait_ready() { i=0; while [ $i -lt 200 ] && ! grep -q "ready on" "$1"; do sleep 0.05; i=$((i+1)); done; }
# NPtcp's receiver listens on 5002 in B.
wait_np() { i=0; while [ $i -lt 200 ] && [ -z "$(b ss -Hltn "sport = :5002")" ]; do sleep 0.05; i=$((i+1)); done; }

# np SIZE REPEATS HOST: one NPtcp data point; prints "bytes Mbps one-way-seconds".
np() { a timeout 60 NPtcp -h "$3" -l "$1" -u "$1" -p 0 -n "$2" -o "$TMP/np.out" > /dev/null 2>&1 &&
       tail -1 "$TMP/np.out"; }

# Our stack over the tap.
ip netns exec $NSA "$B/hosted/netpipe" netif=tap:$TAP ip=$NETA.2/24 cores=1 np_start=64 np_pert=0 > "$TMP/a" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/a"
ours_64=$(np 64 5000 $NETA.2)
kill $!; wait $! 2>/dev/null
ip netns exec $NSA "$B/hosted/netpipe" netif=tap:$TAP ip=$NETA.3/24 cores=1 np_start=65536 np_pert=0 > "$TMP/b" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/b"
ours_64k=$(np 65536 300 $NETA.3)
kill $!

# Linux's stack: NPtcp's own receiver in the namespace, over the veth pair.
ip netns exec $NSB NPtcp -l 64 -u 64 -p 0 -n 5000 > /dev/null 2>&1 &
PIDS="$PIDS $!"; wait_np
linux_64=$(np 64 5000 $NETB.2)
ip netns exec $NSB NPtcp -l 65536 -u 65536 -p 0 -n 300 > /dev/null 2>&1 &
PIDS="$PIDS $!"; wait_np
linux_64k=$(np 65536 300 $NETB.2)

# The same with the veth's offloads off, so Linux too moves 1500-byte frames one by one (a tap
# without a virtio-net header gets no offloads).
a ethtool -K $VA tso off gso off gro off > /dev/null 2>&1
ip netns exec $NSB ethtool -K $VB tso off gso off gro off > /dev/null 2>&1
ip netns exec $NSB NPtcp -l 65536 -u 65536 -p 0 -n 300 > /dev/null 2>&1 &
PIDS="$PIDS $!"; wait_np
linux_64k_nooff=$(np 65536 300 $NETB.2)
a ethtool -K $VA tso on gso on gro on > /dev/null 2>&1
ip netns exec $NSB ethtool -K $VB tso on gso on gro on > /dev/null 2>&1

# apps/netpipe over Linux sockets (netif=linux), in the namespace.
ip netns exec $NSB "$B/hosted/netpipe" netif=linux ip=0.0.0.0 cores=1 np_start=64 np_pert=0 > "$TMP/c" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/c"
sock_64=$(np 64 5000 $NETB.2)
kill $!; wait $! 2>/dev/null
ip netns exec $NSB "$B/hosted/netpipe" netif=linux ip=0.0.0.0 cores=1 np_start=65536 np_pert=0 port=5003 > "$TMP/d" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/d"
sock_64k=$(a timeout 60 NPtcp -h $NETB.2 -P 5003 -l 65536 -u 65536 -p 0 -n 300 -o "$TMP/np.out" > /dev/null 2>&1 && tail -1 "$TMP/np.out")

rt() { echo "$1" | awk '{ printf "%.1f", $3 * 2 * 1e6 }'; }
mbps() { echo "$1" | awk '{ printf "%.0f", $2 }'; }
echo "NetPIPE ping-pong, NPtcp client in namespace A:"
printf "  %-44s %12s %14s\n" "server" "64 B RTT us" "64 KiB Mbit/s"
printf "  %-44s %12s %14s\n" "this stack, tap (apps/netpipe)" "$(rt "$ours_64")" "$(mbps "$ours_64k")"
printf "  %-44s %12s %14s\n" "Linux stack, veth+netns (NPtcp receiver)" "$(rt "$linux_64")" "$(mbps "$linux_64k")"
printf "  %-44s %12s %14s\n" "Linux stack, veth+netns, offloads off" "" "$(mbps "$linux_64k_nooff")"
printf "  %-44s %12s %14s\n" "Linux stack, veth+netns (apps/netpipe linux)" "$(rt "$sock_64")" "$(mbps "$sock_64k")"
awk -v a="$(rt "$ours_64")" -v b="$(rt "$linux_64")" -v c="$(mbps "$ours_64k")" -v d="$(mbps "$linux_64k")" \
    -v e="$(mbps "$linux_64k_nooff")" \
  'BEGIN { if (b > 0 && d > 0 && e > 0)
             printf "  ratio this stack / Linux: RTT %.2f, goodput %.2f (%.2f against offloads off)\n", a / b, c / d, c / e }'
