#!/bin/bash
# make bench-native-net: the native image on its virtio-net driver against a Linux VM (Debian's
# kernel, tests/bench/linux_vm.sh) booted by the same launcher with the same QEMU flags, vCPUs,
# memory, tap and virtio-net device, measured by the same Linux clients in one run:
#   - NetPIPE (NPtcp, ping-pong) 64 B round trip and 64 KiB goodput, and the curve
#     from 1 B to 1 MiB plotted into docs/native_net_netpipe.svg (gnuplot);
#   - iperf (2) throughput, 5 s;
#   - QEMU start to the first answered ping (3 boots each, median).
# Everything runs in a network namespace this script makes (root). SMP=N (default 1) sets vCPUs.
set -u
B=${B:-build}
SMP=${SMP:-1}
MEM=256M
[ "$(id -u)" = 0 ] || { echo "bench-native-net: needs root (tap, netns)"; exit 0; }
tests/bench/linux_vm.sh "$B/linuxvm" || exit 1
. tests/native_net_lib.sh
net_ns_setup ebvbench 10.9.2.1/24 || { echo "bench-native-net: cannot make a namespace with a tap" >&2; exit 1; }

NATIVE_IP=10.9.2.2 LINUX_IP=10.9.2.3
# no_timer_check: under TCG on a loaded machine Linux's IO-APIC timer check can fail and panic.
LINUX_CMDLINE="console=ttyS0 loglevel=3 no_timer_check=1"
LAUNCH=(scripts/qemu-run --timeout 900 --smp "$SMP" --mem "$MEM" --net tap:tap0)
# boot_native APP OUT [args], boot_linux OUT [args]: start a guest, wait until it serves.
boot_native() {
    local app=$1 out=$2
    shift 2
    guest_start "$out" "ready on" "${LAUNCH[@]}" "$B/native/$app.elf" ip=$NATIVE_IP/24 "$@" || up_failed "$out"
}
boot_linux() {
    local out=$1
    shift
    guest_start "$out" "linux: ready" "${LAUNCH[@]}" --initrd "$B/linuxvm/initrd.gz" "$B/linuxvm/vmlinuz" \
        $LINUX_CMDLINE lip=$LINUX_IP/24 "$@" || up_failed "$out"
}
up_failed() { echo "bench-native-net: the guest did not come up:" >&2; tail -5 "$1" >&2; exit 1; }
stop() { guest_stop "$1"; sleep 0.3; }

# ---- QEMU start to the first answered ping ----
first_ping() { # prints milliseconds
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1 &
    LAST=$!; QPIDS="$QPIDS $LAST"
    inns ping -c 1 -w 120 -i 0.002 -W 1 "$ADDR" > /dev/null 2>&1
    t1=$(date +%s%N)
    stop $LAST
    echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Both guests have QEMU's default MAC: a permanent neighbour entry lets the pings (every 2 ms) go
# out from the start, instead of waiting for Linux's ARP retries (1 s apart) to find the guest.
MAC=52:54:00:12:34:56
inns ip neigh replace $NATIVE_IP lladdr $MAC dev tap0 nud permanent
inns ip neigh replace $LINUX_IP lladdr $MAC dev tap0 nud permanent
ADDR=$NATIVE_IP
nat_boot=$(for i in 1 2 3; do first_ping ip netns exec "$NS" "${LAUNCH[@]}" "$B/native/echo.elf" ip=$NATIVE_IP/24; done | median)
ADDR=$LINUX_IP
lin_boot=$(for i in 1 2 3; do first_ping ip netns exec "$NS" "${LAUNCH[@]}" --initrd "$B/linuxvm/initrd.gz" \
    "$B/linuxvm/vmlinuz" $LINUX_CMDLINE lip=$LINUX_IP/24; done | median)

# ---- NetPIPE curves and iperf ----
np_curve() { inns timeout 600 NPtcp -h "$1" -l 1 -u 1048576 -p 3 -o "$2" > /dev/null 2>&1; }
row() { awk -v b="$2" '$1 == b {print $'"$3"'; exit}' "$1"; }
iperf_mbps() { inns timeout 60 iperf -c "$1" -t 5 -f m 2>/dev/null | awk '/Mbits\/sec/ {v=$(NF-1)} END {print v+0}'; }

boot_native netpipe "$TMP/nat_np.out"
np_curve $NATIVE_IP "$TMP/nat.np"
stop $LAST
boot_native iperf "$TMP/nat_iperf.out"
nat_iperf=$(iperf_mbps $NATIVE_IP)
stop $LAST
boot_linux "$TMP/lin.out" npl=1 npu=1048576 npp=3
sleep 1
np_curve $LINUX_IP "$TMP/lin.np"
lin_iperf=$(iperf_mbps $LINUX_IP)
stop $LAST

nat_lat=$(row "$TMP/nat.np" 64 3) lin_lat=$(row "$TMP/lin.np" 64 3)
nat_64k=$(row "$TMP/nat.np" 65536 2) lin_64k=$(row "$TMP/lin.np" 65536 2)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
us() { awk -v s="$1" 'BEGIN { printf "%.1f", 2 * s * 1e6 }'; } # NPtcp's time is half a round trip

echo "bench-native-net: $SMP vCPU(s), $MEM, TCG, tap with a virtio-net device (qemu-run --net tap), same clients"
printf '%-42s %12s %12s %8s\n' "" native "Linux VM" ratio
printf '%-42s %12s %12s %8s\n' "NetPIPE 64 B round trip (us)" "$(us "$nat_lat")" "$(us "$lin_lat")" "$(ratio "$nat_lat" "$lin_lat")"
printf '%-42s %12s %12s %8s\n' "NetPIPE 64 KiB goodput (Mbit/s)" "$nat_64k" "$lin_64k" "$(ratio "$nat_64k" "$lin_64k")"
printf '%-42s %12s %12s %8s\n' "iperf, 5 s (Mbit/s)" "$nat_iperf" "$lin_iperf" "$(ratio "$nat_iperf" "$lin_iperf")"
printf '%-42s %12s %12s %8s\n' "QEMU start to first ping reply (ms)" "$nat_boot" "$lin_boot" "$(ratio "$nat_boot" "$lin_boot")"

svg=docs/native_net_netpipe.svg
if command -v gnuplot > /dev/null; then
    gnuplot <<GP
set terminal svg size 720,420 dynamic font "sans,11"
set output "$svg"
set title "NetPIPE (NPtcp ping-pong) over a tap, $SMP vCPU, TCG"
set logscale x 2
set xlabel "message size (bytes)"
set ylabel "goodput (Mbit/s)"
set key top left
set grid
plot "$TMP/nat.np" using 1:2 with linespoints title "native (virtio-net driver)", \
     "$TMP/lin.np" using 1:2 with linespoints title "Linux VM (Debian 6.1)"
GP
    echo "NetPIPE curve: $svg"
fi
