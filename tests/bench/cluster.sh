#!/bin/bash
# make bench-cluster: the NodeAllocator and the Messenger across a front end and native nodes
# (docs/cluster.md), TCG, in one run:
#   - allocation of a native node to its first answered remote call (build/hosted/cluster_test
#     mode=bench, 3 allocations, median), against a Linux VM's QEMU start to its first answered
#     ping (Debian's kernel and a busybox initramfs, tests/bench/linux_vm.sh; 3 boots, median;
#     needs root for its tap, in a network namespace this script makes);
#   - the round trip of a remote call with a 64-byte buffer, front end -> native node and native
#     node -> native node (over the front end's switch), against hosted -> hosted (two processes
#     on loopback, build/hosted/bench/msgbench rtt), medians.
set -u
B=${B:-build}
N=${N:-2000}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

out=$(XDG_RUNTIME_DIR=$(mktemp -d /tmp/bench-cluster.XXXXXX) ACCEL=tcg timeout 600 \
      "$B/hosted/cluster_test" mode=bench bench_calls="$N" accel=tcg) || { echo "bench-cluster: cluster_test failed: $out" >&2; exit 1; }
val() { printf '%s\n' "$out" | awk -v k="$1" '$1 == k {print $2}'; }
alloc_ms=$(printf '%s\n' "$out" | awk '$1 == "alloc_first_call_ms" {print $2}' | median)
h2n=$(val rtt_hosted_native_ns)
n2n=$(val rtt_native_native_ns)
h2h=$("$B/hosted/bench/msgbench" rtt "$N" 64 | awk '$1 == "msg_rtt_ns" {print $2}')

lin_ms=-
if [ "$(id -u)" = 0 ] && tests/bench/linux_vm.sh "$B/linuxvm"; then
    . tests/native_net_lib.sh
    if net_ns_setup ebclbench 10.9.3.1/24; then
        lin_ms=$(for i in 1 2 3; do
            t0=$(date +%s%N)
            ip netns exec "$NS" scripts/qemu-run --accel tcg --timeout 300 --smp 1 --mem 256M --net tap:tap0 \
                --initrd "$B/linuxvm/initrd.gz" "$B/linuxvm/vmlinuz" console=ttyS0 loglevel=3 \
                lip=10.9.3.2/24 > /dev/null 2>&1 &
            q=$!; QPIDS="$QPIDS $q"
            inns ping -c 1 -w 120 -i 0.002 -W 1 10.9.3.2 > /dev/null 2>&1
            t1=$(date +%s%N)
            guest_stop $q; sleep 0.3
            echo $(( (t1 - t0) / 1000000 ))
        done | median)
    fi
else
    echo "bench-cluster: no Linux VM baseline (needs root and Debian's kernel package)"
fi

printf '%-58s %10s %10s %6s\n' "" "ours" "baseline" "ratio"
printf '%-58s %10s %10s %6s\n' "native node: allocation to first answered call (ms)" "$alloc_ms" "$lin_ms" "$(ratio "$alloc_ms" "$lin_ms")"
printf '%-58s %10s\n' "  (baseline: Linux VM, QEMU start to first answered ping)" ""
printf '%-58s %10.1f %10.1f %6s\n' "remote call round trip, 64 B, front end -> native (us)" "$(ratio "$h2n" 1000)" "$(ratio "$h2h" 1000)" "$(ratio "$h2n" "$h2h")"
printf '%-58s %10.1f %10.1f %6s\n' "remote call round trip, 64 B, native -> native (us)" "$(ratio "$n2n" 1000)" "$(ratio "$h2h" 1000)" "$(ratio "$n2n" "$h2h")"
printf '%-58s %10s\n' "  (baseline: hosted -> hosted, two processes on loopback)" ""
