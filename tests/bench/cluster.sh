#!/bin/bash
# make bench-cluster: the NodeAllocator and the Messenger across a front end and native nodes
# (docs/cluster.md), TCG, in one run:
#   - allocation of a native node to its first answered remote call (build/hosted/cluster_test
#     mode=bench, 3 allocations, median), against a Linux VM's QEMU start to its first answered
#     ping (Debian's kernel and a busybox initramfs, tests/bench/linux_vm.sh; 3 boots, median;
#     needs root for its tap, in a network namespace this script makes);
#   - the round trip of a remote call with a 64-byte buffer, front end -> native node and native
#     node -> native node (over the front end's switch), against hosted -> hosted (two processes
#     on loopback, build/hosted/bench/msgbench rtt), medians;
#   - native -> native against a TCP ping-pong of 64 bytes (NetPIPE) between two of those Linux
#     VMs on the same switch (build/hosted/bench/vswitch) with the same QEMU flags.
#   The Linux VMs boot with no_timer_check=1: under TCG on a loaded machine Linux's IO-APIC timer
#   check can fail and panic.
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
                --initrd "$B/linuxvm/initrd.gz" "$B/linuxvm/vmlinuz" console=ttyS0 loglevel=3 no_timer_check=1 \
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

# Two Linux VMs on a switch of ours: the second runs NetPIPE's client against the first. Their
# initramfs is linux_vm.sh's with a client mode added to its init (npc=ADDR: run NPtcp against
# ADDR, print the 64-byte line).
lin_np=-
if [ -s "$B/linuxvm/initrd.gz" ]; then
    pair=$(mktemp -d /tmp/bench-cluster-pair.XXXXXX)
    initrd=$(cd "$B/linuxvm" && pwd)/initrd.gz
    mkdir "$pair/root"
    (cd "$pair/root" && gzip -dc "$initrd" | cpio -id 2>/dev/null) || exit 1
    cat > "$pair/root/npc.sh" <<'NPC'
for w in $(cat /proc/cmdline); do
    case "$w" in npc=*)
        sleep 1
        NPtcp -h "${w#npc=}" -l 64 -u 64 -p 3 -o /tmp/np.out > /tmp/np.log 2>&1 || tail -3 /tmp/np.log
        echo "linux: np $(grep '^ *64 ' /tmp/np.out)" ;;
    esac
done
NPC
    sed -i 's|^echo "linux: ready on.*|&\n. /npc.sh|' "$pair/root/init"
    mkdir -p "$pair/root/etc" && cp /etc/protocols "$pair/root/etc/" # NPtcp's client looks up "tcp"
    (cd "$pair/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > ../initrd.gz)
    "$B/hosted/bench/vswitch" cores=1 path="$pair/sw.sock" > "$pair/sw.out" 2>&1 &
    sw=$!
    for _ in $(seq 100); do grep -q ready "$pair/sw.out" && break; sleep 0.1; done
    vm() { # N ARGS...: a Linux VM on the switch, console into $pair/vmN.out
        local k=$1; shift
        scripts/qemu-run --accel tcg --firmware qboot --timeout 300 --smp 1 --mem 256M \
            --qemu -netdev --qemu "stream,id=n0,server=off,addr.type=unix,addr.path=$pair/sw.sock" \
            --qemu -device --qemu "virtio-net-pci,netdev=n0,romfile=,mac=02:eb:ff:00:00:1$k" \
            --initrd "$pair/initrd.gz" "$B/linuxvm/vmlinuz" console=ttyS0 loglevel=3 no_timer_check=1 "$@" > "$pair/vm$k.out" 2>&1 &
    }
    vm 1 lip=10.9.4.1/24 npl=64 npu=64 npp=3; v1=$!
    for _ in $(seq 1200); do grep -q "linux: ready" "$pair/vm1.out" && break; kill -0 $v1 2>/dev/null || break; sleep 0.1; done
    vm 2 lip=10.9.4.2/24 npc=10.9.4.1; v2=$!
    for _ in $(seq 1800); do grep -q "linux: np" "$pair/vm2.out" && break; kill -0 $v2 2>/dev/null || break; sleep 0.1; done
    # NetPIPE's time column is half the round trip, in seconds.
    lin_np=$(awk '/linux: np/ { if ($5 > 0) printf "%.0f", $5 * 2e9 }' "$pair/vm2.out")
    [ -n "$lin_np" ] || { lin_np=-; echo "bench-cluster: the Linux VM pair gave no NetPIPE figure"; }
    kill $v1 $v2 $sw 2>/dev/null; wait $v1 $v2 $sw 2>/dev/null
    rm -rf "$pair"
fi

printf '%-58s %10s %10s %6s\n' "" "ours" "baseline" "ratio"
printf '%-58s %10s %10s %6s\n' "native node: allocation to first answered call (ms)" "$alloc_ms" "$lin_ms" "$(ratio "$alloc_ms" "$lin_ms")"
printf '%-58s %10s\n' "  (baseline: Linux VM, QEMU start to first answered ping)" ""
printf '%-58s %10.1f %10.1f %6s\n' "remote call round trip, 64 B, front end -> native (us)" "$(ratio "$h2n" 1000)" "$(ratio "$h2h" 1000)" "$(ratio "$h2n" "$h2h")"
printf '%-58s %10.1f %10.1f %6s\n' "remote call round trip, 64 B, native -> native (us)" "$(ratio "$n2n" 1000)" "$(ratio "$h2h" 1000)" "$(ratio "$n2n" "$h2h")"
printf '%-58s %10s\n' "  (baseline: hosted -> hosted, two processes on loopback)" ""
if [ "$lin_np" != - ]; then
    printf '%-58s %10.1f %10.1f %6s\n' "remote call round trip, 64 B, native -> native (us)" "$(ratio "$n2n" 1000)" "$(ratio "$lin_np" 1000)" "$(ratio "$n2n" "$lin_np")"
    printf '%-58s %10s\n' "  (baseline: TCP ping-pong, 64 B, two Linux VMs, same switch)" ""
fi
