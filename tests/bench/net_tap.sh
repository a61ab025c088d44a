#!/bin/sh
# NetPIPE (Debian's NPtcp, ping-pong) against this project's stack over a tap device, beside the
# same client against Linux's own stack (NPtcp's receiver in a second namespace over a veth
# pair), and against apps/netpipe over Linux sockets (netif=linux) in that namespace, in the same
# run: 64-byte round trip and 64 KiB goodput (ours with the tap's offloads, and with offload=off
# against the veth with its offloads off). Root. Everything lives in two namespaces made here
# and deleted on exit: A holds the NPtcp client, the tap with our stack behind it and one end of
# the veth pair; B holds the other end.
set -u
. tests/lib.sh
B=${B:-build}
[ "$(id -u)" = 0 ] || { echo "bench-net: needs root (tap, netns)"; exit 0; }
TMP=$(mktemp -d /tmp/ebbnetbench.XXXXXX)
TAP=ebbench; NSA=ebbb-$$-a; NSB=ebbb-$$-b; VA=ebva; VB=ebvb
NETA=10.0.1; NETB=10.0.2
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    ns_delete $NSA $NSB
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

# np SIZE REPEATS HOST [PORT]: one NPtcp data point; prints "bytes Mbps one-way-seconds".
np() { a timeout 60 NPtcp -h "$3" -P "${4:-5002}" -l "$1" -u "$1" -p 0 -n "$2" -o "$TMP/np.out" \
         > /dev/null 2>&1 && tail -1 "$TMP/np.out"; }
# A machine shared with other work makes single points noisy: every 64 KiB row is measured
# TRIALS times, the rows taking turns, and the median is reported.
TRIALS=${TRIALS:-5}
N64K=${N64K:-2000}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
mb() { echo "$1" | awk '{ printf "%.0f", $2 }'; }

# ours NAME ADDR OPTIONS...: one NPtcp point against apps/netpipe on this stack over the tap.
ours() {
    size=$1 reps=$2 addr=$3; shift 3
    ip netns exec $NSA "$B/hosted/netpipe" netif=tap:$TAP ip=$addr/24 cores=1 np_start=$size np_pert=0 "$@" \
        > "$TMP/ours" 2>&1 &
    pid=$!; PIDS="$PIDS $pid"; wait_ready "$TMP/ours"
    np "$size" "$reps" "$addr"
    kill $pid; wait $pid 2>/dev/null
}
# linux SIZE REPEATS: NPtcp's own receiver in B, over the veth pair.
linux() {
    ip netns exec $NSB NPtcp -l "$1" -u "$1" -p 0 -n "$2" > /dev/null 2>&1 &
    PIDS="$PIDS $!"; wait_np
    np "$1" "$2" $NETB.2
}
veth_offloads() {
    a ethtool -K $VA tso "$1" gso "$1" gro "$1" > /dev/null 2>&1
    b ethtool -K $VB tso "$1" gso "$1" gro "$1" > /dev/null 2>&1
}

ours_64=$(ours 64 5000 $NETA.2)
linux_64=$(linux 64 5000)
o64k=""; l64k=""; ooff=""; loff=""
i=0
while [ $i -lt "$TRIALS" ]; do
    o64k="$o64k $(mb "$(ours 65536 "$N64K" $NETA.3)")"
    l64k="$l64k $(mb "$(linux 65536 "$N64K")")"
    # Without offloads on both sides: our tap without the virtio-net header (offload=off), so
    # that 1500-byte frames go one by one, against the veth with TSO/GSO/GRO off.
    ooff="$ooff $(mb "$(ours 65536 "$N64K" $NETA.4 offload=off)")"
    veth_offloads off
    loff="$loff $(mb "$(linux 65536 "$N64K")")"
    veth_offloads on
    i=$((i+1))
done
ours_64k=$(echo "$o64k" | median); linux_64k=$(echo "$l64k" | median)
ours_64k_nooff=$(echo "$ooff" | median); linux_64k_nooff=$(echo "$loff" | median)

# apps/netpipe over Linux sockets (netif=linux), in the namespace.
ip netns exec $NSB "$B/hosted/netpipe" netif=linux ip=0.0.0.0 cores=1 np_start=64 np_pert=0 > "$TMP/c" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/c"
sock_64=$(np 64 5000 $NETB.2)
kill $!; wait $! 2>/dev/null
ip netns exec $NSB "$B/hosted/netpipe" netif=linux ip=0.0.0.0 cores=1 np_start=65536 np_pert=0 port=5003 > "$TMP/d" 2>&1 &
PIDS="$PIDS $!"; wait_ready "$TMP/d"
sock_64k=$(mb "$(np 65536 "$N64K" $NETB.2 5003)")

rt() { echo "$1" | awk '{ printf "%.1f", $3 * 2 * 1e6 }'; }
echo "NetPIPE ping-pong, NPtcp client in namespace A (64 KiB: median of $TRIALS trials of -n $N64K):"
printf "  %-48s %12s %14s\n" "server" "64 B RTT us" "64 KiB Mbit/s"
printf "  %-48s %12s %14s\n" "this stack, tap with offloads (apps/netpipe)" "$(rt "$ours_64")" "$ours_64k"
printf "  %-48s %12s %14s\n" "Linux stack, veth+netns (NPtcp receiver)" "$(rt "$linux_64")" "$linux_64k"
printf "  %-48s %12s %14s\n" "this stack, tap, offload=off" "" "$ours_64k_nooff"
printf "  %-48s %12s %14s\n" "Linux stack, veth+netns, offloads off" "" "$linux_64k_nooff"
printf "  %-48s %12s %14s\n" "Linux stack, veth+netns (apps/netpipe linux)" "$(rt "$sock_64")" "$sock_64k"
echo "  64 KiB trials (Mbit/s): ours$o64k; Linux$l64k; ours off$ooff; Linux off$loff"
awk -v a="$(rt "$ours_64")" -v b="$(rt "$linux_64")" -v c="$ours_64k" -v d="$linux_64k" \
    -v e="$ours_64k_nooff" -v f="$linux_64k_nooff" \
  'BEGIN { if (b > 0 && d > 0 && f > 0)
             printf "  ratio this stack / Linux: RTT %.2f, 64 KiB goodput with offloads %.2f (target >= 0.8), without %.2f\n", a / b, c / d, e / f }'
