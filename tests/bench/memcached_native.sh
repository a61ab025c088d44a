#!/bin/bash
# make bench-memcached (native part): apps/memcached natively (virtio-net, this project's stack)
# against Debian's memcached in the Linux-VM baseline (tests/bench/linux_vm.sh: Debian's kernel),
# both booted by the same launcher with the same QEMU flags (TCG here), memory, tap and
# virtio-net device, on 1 and 2 vCPUs, driven by tests/bench/mcload from Linux in a network
# namespace this script makes (root). The p99 bound is 10x the Linux VM's p50 at the lowest
# offered load (TCG stretches every time), the same for both.
set -u
. tests/lib.sh
B=${B:-build}
LOAD=$B/hosted/bench/mcload
SECS=${SECS:-3} CONNS=${CONNS:-16} KEYS=${KEYS:-10000}
RATES=${RATES:-"100 250 500 1000 1500 2000 3000 5000 7000 10000 13000 16000 20000 25000 30000 40000"}
TRIES=${TRIES:-2}
MAXP99=${MAXP99:-1000000}
MEM=512M
[ "$(id -u)" = 0 ] || { echo "bench-memcached native: needs root (tap, netns)"; exit 0; }
tests/bench/linux_vm.sh "$B/linuxvm" || exit 1
# The guests and the load generator run at a higher priority (NICE=0 to not): on a machine
# others share, a TCG vCPU thread waiting for a CPU stretches latencies at random and the p99
# measures the neighbours rather than the servers. Both guests get the same treatment.
renice -n "${NICE:--10}" -p $$ > /dev/null
NS=ebmcbench$$
TMP=$(mktemp -d /tmp/ebmcbench.XXXXXX)
QPIDS=""
cleanup() {
    for p in $QPIDS; do kill "$p" 2>/dev/null; done
    sleep 0.3
    ns_delete "$NS"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
inns() { ip netns exec "$NS" "$@"; }
# boot LOG ARGS...: qemu-run in the namespace; LAST is its pid (ip netns exec execs it, so a
# TERM to LAST reaches qemu-run, which stops QEMU and waits for it).
boot() { log=$1; shift; ip netns exec "$NS" "${LAUNCH[@]}" "$@" > "$log" 2>&1 & LAST=$!; QPIDS="$QPIDS $LAST"; }
# stop: the guest must be gone before the next one attaches to the tap: a multi_queue tap spreads
# flows over every attached queue, so a guest left running silently takes part of the next one's
# connections (what made every connect after the first guest time out).
stop() {
    kill $LAST 2>/dev/null; wait $LAST 2>/dev/null
    for _ in $(seq 100); do [ -z "$(ns_qemu)" ] && return 0; sleep 0.1; done
    echo "bench-memcached: a QEMU still holds the tap" >&2; exit 1
}
ip netns add "$NS"
inns ip link set lo up
inns ip tuntap add dev tap0 mode tap multi_queue
inns ip addr add 10.9.3.1/24 dev tap0
inns ip link set tap0 up
RUN="ip netns exec $NS"
. tests/bench/mcsweep.sh

wait_for() {
    for _ in $(seq 1200); do grep -q "$2" "$1" && return 0; kill -0 $LAST 2>/dev/null || break; sleep 0.1; done
    echo "bench-memcached: the guest did not come up:" >&2; tail -5 "$1" >&2; exit 1
}
# ns_qemu: the pid of the QEMU in our namespace (not its timeout wrapper; for its CPU time)
ns_qemu() { for p in $(ip netns pids "$NS"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo $p; done; }
wait_port() { for _ in $(seq 300); do printf 'version\r\n' | inns timeout 3 nc -q1 $1 11211 2>/dev/null | grep -q VERSION && return 0; sleep 0.5; done; echo "bench-memcached: $1:11211 does not answer" >&2; exit 1; }
for smp in 1 2; do
    LAUNCH=(scripts/qemu-run --timeout 1800 --smp $smp --mem $MEM --net tap:tap0)
    # no_timer_check: under TCG on a loaded machine Linux's IO-APIC timer check can fail and panic
    boot "$TMP/lin.out" --initrd "$B/linuxvm/initrd.gz" "$B/linuxvm/vmlinuz" console=ttyS0 \
        loglevel=3 no_timer_check=1 lip=10.9.3.3/24
    wait_for "$TMP/lin.out" "linux: ready"; wait_port 10.9.3.3
    echo "Linux VM (Debian's kernel, memcached 1.6.18 -t 4), $smp vCPU, TCG:"
    sweep linux$smp 10.9.3.3 11211 $(ns_qemu)
    stop
    boot "$TMP/nat.out" "$B/native/memcached.elf" ip=10.9.3.2/24 cores=$smp memory=256
    wait_for "$TMP/nat.out" "memcached: ready"; wait_port 10.9.3.2
    echo "apps/memcached native, $smp vCPU, TCG:"
    sweep native$smp 10.9.3.2 11211 $(ns_qemu)
    stop
    bound=$(awk 'NR==1 { print $3 * 10 }' "$TMP/linux$smp.dat")
    l=$(best linux$smp $bound); n=$(best native$smp $bound)
    # The same at a 10x looser bound: whether the ratio hinges on one noisy tail.
    l10=$(best linux$smp $((bound * 10))); n10=$(best native$smp $((bound * 10)))
    echo "$smp vCPU: p99 bound $bound us (10x the Linux VM's p50 at $(head -1 "$TMP/linux$smp.dat" | cut -d' ' -f1) req/s); throughput at the bound: Linux VM $l req/s, native $n req/s, ratio native/Linux $(awk -v n=$n -v l=$l 'BEGIN { printf "%.2f", l ? n / l : 0 }') (target >= 2.5 on 1 vCPU); at p99 <= $((bound * 10)) us: Linux VM $l10, native $n10 req/s, ratio $(awk -v n=$n10 -v l=$l10 'BEGIN { printf "%.2f", l ? n / l : 0 }'); QEMU CPU per request: Linux VM $(median_cpu linux$smp) us, native $(median_cpu native$smp) us"
    plot docs/perf/memcached_native_${smp}vcpu.svg "memcached in QEMU (TCG), $smp vCPU (uptime load $(cut -d' ' -f1 /proc/loadavg))" $bound "linux$smp:Linux VM memcached ($smp vCPU)" "native$smp:apps/memcached native ($smp vCPU)"
done
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
