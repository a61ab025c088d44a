#!/bin/sh
# make bench-memcached: apps/memcached (hosted, netif=linux) against Debian's memcached with the
# same number of cores, on loopback, driven by tests/bench/mcload (open loop, Poisson arrivals,
# Facebook ETC sizes and mix, exact percentiles, counts checked against the server's stats).
# Each server runs on CPU 1 (cores=1 / -t 1), the load generator on CPU 0. Offered load rises
# until the p99 passes the bound; "throughput at the bound" is the highest achieved rate whose p99
# stayed within it. The bound is 10x Debian's p50 at the lowest rate (never under 10 ms).
# Also the server's CPU time per request (from /proc), which a loaded machine disturbs less.
# Prints a table, the ratio, and an ASCII p99-vs-load plot (gnuplot) for docs/performance.md.
set -eu
B=${B:-build}
LOAD=$B/hosted/bench/mcload
SECS=${SECS:-3}
RATES=${RATES:-"5000 20000 40000 60000 80000 100000 130000 160000 200000 250000 300000"}
CONNS=${CONNS:-32}
TRIES=${TRIES:-2}
TMP=$(mktemp -d /tmp/mcbench.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null || true; done; rm -rf "$TMP"' EXIT INT TERM
. tests/lib.sh # free_port
wait_port() { i=0; while [ $i -lt 100 ] && ! (echo version | nc -q1 127.0.0.1 $1 2>/dev/null | grep -q VERSION); do sleep 0.1; i=$((i+1)); done; }
user=""; [ "$(id -u)" = 0 ] && user="-u root"
# Both servers and the load generator at a higher priority where allowed (NICE=0 to not), so
# that on a shared machine the p99 measures the servers more than the neighbours.
renice -n "${NICE:--10}" -p $$ > /dev/null 2>&1 || true

KEYS=100000 RUN="taskset -c 0"
. tests/bench/mcsweep.sh

P1=$(free_port)
taskset -c 1 memcached $user -p $P1 -l 127.0.0.1 -U 0 -t 1 -m 1024 -c 4096 &
PIDS="$PIDS $!"; wait_port $P1
echo "Debian memcached $(memcached -V | cut -d' ' -f2), 1 thread:"
sweep debian 127.0.0.1 $P1 $!
kill $!; sleep 0.2

P2=$(free_port)
"$B/hosted/memcached" port=$P2 cores=1 cpu=1 memory=1024 > "$TMP/ours.out" 2>&1 &
PIDS="$PIDS $!"; wait_port $P2
echo "apps/memcached hosted (netif=linux), 1 core:"
sweep ours 127.0.0.1 $P2 $!
kill $!

# Never under FLOOR us (10 ms): on a small machine others share, a 3 s run's p99 already holds
# waits for a CPU of several milliseconds at any rate, and a bound inside that noise measures
# the neighbours.
bound=$(awk -v f=${FLOOR:-10000} 'NR==1 { b = $3 * 10; if (b < f) b = f; print b }' "$TMP/debian.dat")
d=$(best debian $bound); o=$(best ours $bound)
echo "p99 bound: $bound us (10x Debian's p50 at $(head -1 "$TMP/debian.dat" | cut -d' ' -f1) req/s, at least ${FLOOR:-10000} us)"
echo "throughput at the p99 bound: Debian memcached $d req/s, ours $o req/s, ratio ours/Debian $(awk -v o=$o -v d=$d 'BEGIN { printf "%.2f", d ? o / d : 0 }') (target >= 1.2)"
d10=$(best debian $((bound * 10))); o10=$(best ours $((bound * 10)))
echo "at a 10x looser bound, p99 <= $((bound * 10)) us: Debian memcached $d10 req/s, ours $o10 req/s, ratio $(awk -v o=$o10 -v d=$d10 'BEGIN { printf "%.2f", d ? o / d : 0 }')"
echo "server CPU per request (preload included), median over the sweep: Debian memcached $(median_cpu debian) us, ours $(median_cpu ours) us"
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
plot docs/perf/memcached_hosted.svg "memcached hosted on loopback, 1 core each (uptime load $(cut -d' ' -f1 /proc/loadavg))" $bound \
    "debian:Debian memcached (1 thread)" "ours:apps/memcached hosted (1 core)"
