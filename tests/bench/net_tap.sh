#!/bin/sh
# NetPIPE (Debian's NPtcp, ping-pong) against this project's stack over a tap device, beside the
# same client against Linux's own stack (NPtcp's receiver in a network namespace over a veth
# pair), and against apps/netpipe over Linux sockets (netif=linux) in that namespace, in the same
# run: 64-byte round trip and 64 KiB goodput. Root; creates and removes its devices.
set -u
B=${B:-build}
[ "$(id -u)" = 0 ] || { echo "bench-net: needs root (tap, netns)"; exit 0; }
TMP=$(mktemp -d /tmp/ebbnetbench.XXXXXX)
TAP=ebbench$$; NS=ebbns$$; VA=ebva$$; VB=ebvb$$
# Subnets of our own (other worktrees may run tests with taps at the same time).
NETA=10.$((64 + $$ % 128)).$(( ($$ / 128) % 250 + 1)); NETB=10.$((192 + $$ % 60)).$(( ($$ / 60) % 250 + 1))
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    ip link del "$TAP" 2>/dev/null; ip link del "$VA" 2>/dev/null; ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip tuntap add dev $TAP mode tap && ip addr add $NETA.1/24 dev $TAP && ip link set $TAP up
ip netns add $NS && ip link add $VA type veth peer name $VB && ip link set $VB netns $NS
ip addr add $NETB.1/24 dev $VA && ip link set $VA up
ip netns exec $NS ip addr add $NETB.2/24 dev $VB
ip netns exec $NS ip link set $VB up && ip netns exec $NS ip link set lo up

wait_ready() { i=0; while [ $i -lt 50 ] && ! grep -q "ready on" "$1"; do sleep 0.1; i=$((i+1)); done; }

# np SIZE REPEATS HOST: one NPtcp data point; prints "bytes Mbps one-way-seconds".
np() { timeout 60 NPtcp -h "$3" -l "$1" -u "$1" -p 0 -n "$2" -o "$TMP/np.out" > /dev/null 2>&1 &&
       tail -1 "$TMP/np.out"; }

# Our stack over the tap.
"$B/hosted/netpipe" netif=tap:$TAP ip=$NETA.2/24 cores=1 np_start=64 np_pert=0 > "$TMP/a" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/a"
ours_64=$(np 64 5000 $NETA.2)
kill $!; sleep 0.2
"$B/hosted/netpipe" netif=tap:$TAP ip=$NETA.3/24 cores=1 np_start=65536 np_pert=0 > "$TMP/b" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/b"
ours_64k=$(np 65536 300 $NETA.3)
kill $!

# Linux's stack: NPtcp's own receiver in the namespace, over the veth pair.
ip netns exec $NS NPtcp -l 64 -u 64 -p 0 -n 5000 > /dev/null 2>&1 &
PIDS="$PIDS $!"; sleep 0.3
linux_64=$(np 64 5000 $NETB.2)
ip netns exec $NS NPtcp -l 65536 -u 65536 -p 0 -n 300 > /dev/null 2>&1 &
PIDS="$PIDS $!"; sleep 0.3
linux_64k=$(np 65536 300 $NETB.2)

# The same with the veth's offloads off, so Linux too moves 1500-byte frames one by one (a tap
# without a virtio-net header gets no offloads).
ethtool -K $VA tso off gso off gro off > /dev/null 2>&1
ip netns exec $NS ethtool -K $VB tso off gso off gro off > /dev/null 2>&1
ip netns exec $NS NPtcp -l 65536 -u 65536 -p 0 -n 300 > /dev/null 2>&1 &
PIDS="$PIDS $!"; sleep 0.3
linux_64k_nooff=$(np 65536 300 $NETB.2)
ethtool -K $VA tso on gso on gro on > /dev/null 2>&1
ip netns exec $NS ethtool -K $VB tso on gso on gro on > /dev/null 2>&1

# apps/netpipe over Linux sockets (netif=linux), in the namespace.
ip netns exec $NS "$B/hosted/netpipe" netif=linux ip=0.0.0.0 cores=1 np_start=64 np_pert=0 > "$TMP/c" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/c"
sock_64=$(np 64 5000 $NETB.2)
kill $!; sleep 0.2
ip netns exec $NS "$B/hosted/netpipe" netif=linux ip=0.0.0.0 cores=1 np_start=65536 np_pert=0 port=5003 > "$TMP/d" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/d"
sock_64k=$(timeout 60 NPtcp -h $NETB.2 -P 5003 -l 65536 -u 65536 -p 0 -n 300 -o "$TMP/np.out" > /dev/null 2>&1 && tail -1 "$TMP/np.out")

rt() { echo "$1" | awk '{ printf "%.1f", $3 * 2 * 1e6 }'; }
mbps() { echo "$1" | awk '{ printf "%.0f", $2 }'; }
echo "NetPIPE ping-pong, NPtcp client in the root namespace:"
printf "  %-44s %12s %14s\n" "server" "64 B RTT us" "64 KiB Mbit/s"
printf "  %-44s %12s %14s\n" "this stack, tap (apps/netpipe)" "$(rt "$ours_64")" "$(mbps "$ours_64k")"
printf "  %-44s %12s %14s\n" "Linux stack, veth+netns (NPtcp receiver)" "$(rt "$linux_64")" "$(mbps "$linux_64k")"
printf "  %-44s %12s %14s\n" "Linux stack, veth+netns, offloads off" "" "$(mbps "$linux_64k_nooff")"
printf "  %-44s %12s %14s\n" "Linux stack, veth+netns (apps/netpipe linux)" "$(rt "$sock_64")" "$(mbps "$sock_64k")"
awk -v a="$(rt "$ours_64")" -v b="$(rt "$linux_64")" -v c="$(mbps "$ours_64k")" -v d="$(mbps "$linux_64k")" \
    -v e="$(mbps "$linux_64k_nooff")" \
  'BEGIN { if (b > 0 && d > 0 && e > 0)
             printf "  ratio this stack / Linux: RTT %.2f, goodput %.2f (%.2f against offloads off)\n", a / b, c / d, c / e }'
