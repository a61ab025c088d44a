# Sourced by the memcached benchmarks: an offered-load sweep with tests/bench/mcload, the
# throughput at a p99 bound, and the p99-against-load plot. Needs LOAD, TMP, RATES, SECS, CONNS,
# KEYS; RUN (a command prefix for mcload: taskset, ip netns exec ...).
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }
# sweep NAME HOST PORT PID -> $TMP/NAME.dat: rate achieved p50 p99 dropped check cpu_us_per_req
sweep() {
  : > "$TMP/$1.dat"
  for r in $RATES; do
    t0=$(cpu_ticks $4)
    line=$($RUN "$LOAD" host=$2 port=$3 rate=$r secs=$SECS conns=$CONNS keys=$KEYS || true)
    t1=$(cpu_ticks $4)
    echo "$line" | tr ' ' '\n' | awk -F= -v r=$r -v t=$((t1 - t0)) -v hz=$(getconf CLK_TCK) -v k=$KEYS '{v[$1]=$2} END {
      print r, v["achieved"] + 0, v["p50_us"] + 0, v["p99_us"] + 0, v["dropped"] + v["lost"], v["check"] "",
            t / hz * 1e6 / (v["done"] + k) }' >> "$TMP/$1.dat"
    tail -1 "$TMP/$1.dat" | awk -v n="$1" '{ printf "  %-9s offered %7d achieved %7d p50 %9.1f us p99 %10.1f us, server CPU %6.2f us/request, counts %s\n", n, $1, $2, $3, $4, $7, $6 }'
    # Far past saturation there is nothing more to learn.
    if tail -1 "$TMP/$1.dat" | awk '{ exit !($2 < 0.7 * $1) }'; then break; fi
  done
}
# best NAME BOUND: the highest achieved rate with p99 <= BOUND, nothing dropped, counts right.
best() { awk -v b=$2 '$4 <= b && $5 == 0 && $2 >= 0.95 * $1 && $6 == "ok" && $2 > m { m = $2 } END { print m + 0 }' "$TMP/$1.dat"; }
median_cpu() { cut -d' ' -f7 "$TMP/$1.dat" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# plot BOUND "file:title" ...: an ASCII plot of p99 against offered load.
plot() {
  b=$1; shift
  cmd="set terminal dumb 100 28; set logscale y; set xlabel 'offered load (req/s)'; set ylabel 'p99 (us)'; set key top left; plot"
  for f in "$@"; do cmd="$cmd '$TMP/${f%%:*}.dat' using 1:4 with linespoints title '${f#*:}',"; done
  gnuplot -e "$cmd $b title 'p99 bound'" 2>/dev/null || true
}
