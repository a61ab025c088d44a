#!/bin/sh
# The allocator benchmarks: ours (build/lib/libebbmalloc.so) against glibc, jemalloc, mimalloc and
# tcmalloc (Debian's libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4), all on the same binaries
# through LD_PRELOAD, interleaved (every repetition runs each allocator once, in turn), in wall
# time (best of REPS) and peak RSS (lowest of REPS). Prints per benchmark and thread count:
#   <bench> t=<n> time ours/best=<r> (<peer>) rss ours/lowest=<r> (<peer>) | glibc time <r> rss <r>
# where the peers are jemalloc, mimalloc and tcmalloc (glibc is beside, as ours/glibc), then
# writes the raw numbers (<bench> <t> <alloc> <seconds> <KiB>) to $OUT/alloc.dat, those lines
# to $OUT/alloc.txt and SVG plots (gnuplot) of t=1 and t=2 to $PLOTS.
# Usage: alloc.sh [BUILD_DIR] [REPS]
#   env THREADS="1 2 4 8", BENCHES="threadtest-I ... memcached" to narrow; PLOTS=dir (default
#   $BUILD_DIR/bench/alloc); REAL_THREADS="1 2" thread counts of the real programs.
#   INSN=1: instead, instructions (callgrind: deterministic where wall time on a shared machine
#   is not) of each synthetic benchmark but phase at a tenth of its size, per allocator, and
#   ours over the fewest of the peers.
# alloc.sh --plot SUMMARY [BUILD_DIR]: the plots of a saved output.
set -eu
SUMMARY=""
if [ "${1:-}" = --plot ]; then # alloc.sh --plot SUMMARY [BUILD_DIR]: the plots of a saved run
    SUMMARY=$2
    shift 2
fi
B=${1:-build}
REPS=${2:-3}
BIN=$B/bench
OUT=$B/bench/alloc
PLOTS=${PLOTS:-$OUT}
mkdir -p "$OUT" "$PLOTS"
DAT=$OUT/alloc.dat

# Plots of a run's summary lines (t=1 and t=2): ours and glibc over the best peer, in time and in
# peak RSS (1: as good as the best of jemalloc, mimalloc and tcmalloc; lower is better).
plot() { # summary-file
    command -v gnuplot >/dev/null 2>&1 || { echo "alloc.sh: no gnuplot, no plots" >&2; return; }
    for m in time rss; do
        awk -v m=$m '$2 == "t=1" || $2 == "t=2" {
            split($4, o, "="); split($7, r, "=");
            if (m == "time") printf "%s/%s %s %s\n", $1, substr($2, 3), o[2], o[2] / $12;
            else printf "%s/%s %s %s\n", $1, substr($2, 3), r[2], r[2] / $14 }' "$1" > "$OUT/$m.plot"
        if [ $m = time ]; then what="time"; else what="peak RSS"; fi
        gnuplot <<EOF
set terminal svg size 1200,480 dynamic font "sans,11"
set output "$PLOTS/alloc_$m.svg"
set title "$what over the best of jemalloc, mimalloc and tcmalloc (benchmark/threads); lower is better"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set xtics rotate by -40 noenhanced
set key top left
plot "$OUT/$m.plot" using 2:xtic(1) title "ours", '' using 3 title "glibc", 1 with lines lw 2 title "best peer", 0.9 with lines dt 2 title "target (time)"
EOF
    done
    echo "plots: $PLOTS/alloc_time.svg $PLOTS/alloc_rss.svg; raw numbers: $DAT"
}
if [ -n "$SUMMARY" ]; then
    plot "$SUMMARY"
    exit 0
fi
EBB=$(realpath "$B/lib/libebbmalloc.so")
lib() { # path of a shared library from the loader's cache, or its Debian path
    p=$(ldconfig -p | awk -v n="$1" '$1 == n {print $NF; exit}')
    echo "${p:-/usr/lib/x86_64-linux-gnu/$1}"
}
JE=$(lib libjemalloc.so.2)
MI=$(lib libmimalloc.so.2)
TC=$(lib libtcmalloc_minimal.so.4)
for f in "$EBB" "$JE" "$MI" "$TC" "$BIN/allocrun"; do
    [ -e "$f" ] || { echo "alloc.sh: missing $f (make bench-alloc builds ours; scripts/deps.sh installs the peers)" >&2; exit 1; }
done
ALLOCS="ebb glibc jemalloc mimalloc tcmalloc"
path_of() {
    case $1 in ebb) echo "$EBB" ;; glibc) echo - ;; jemalloc) echo "$JE" ;; mimalloc) echo "$MI" ;; tcmalloc) echo "$TC" ;; esac
}

TMP=$(mktemp -d /tmp/allocbench.XXXXXX)
MCPID=""
cleanup() {
    [ -z "$MCPID" ] || kill "$MCPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# The commands, one per benchmark; $t is the thread count. Each does a fixed amount of work;
# `cmd BENCH 10` does about a tenth of it (for callgrind).
cmd() {
    d=${2:-1}
    case $1 in
    threadtest-I) echo "$BIN/threadtest $t $((300 / d)) 100000" ;;
    threadtest-II) echo "$BIN/threadtest $t $((300000 / d)) 100" ;;
    larson) echo "$BIN/larson $t $((500 / d)) 10000 8 1000" ;;
    cache-thrash) echo "$BIN/cache_share thrash $t $((1000 / d)) 8 $((50000 / d))" ;;
    cache-scratch) echo "$BIN/cache_share scratch $t $((1000 / d)) 8 $((50000 / d))" ;;
    xmalloc) echo "$BIN/xmalloc $t $((4000000 / d)) 128" ;;
    mstress) echo "$BIN/mstress $t $((4000000 / d)) 2000" ;;
    phase) echo "$BIN/phase $t 1024 1000" ;;
    python) echo "env PYTHONMALLOC=malloc /usr/bin/python3 tests/bench/alloc_py.py $t" ;;
    sort) echo "env LC_ALL=C sort --parallel=$t -o /dev/null $TMP/words" ;;
    *) echo "alloc.sh: unknown benchmark $1" >&2; exit 1 ;;
    esac
}

insn_one() { # bench alloc: instructions of the whole process (all threads)
    pre=$(path_of "$2")
    [ "$pre" = - ] && pre=""
    # shellcheck disable=SC2046
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null \
        env LD_PRELOAD="$pre" $(cmd "$1" 10) 2>&1 >/dev/null |
        awk '/Collected :/ { n = $NF } END { print n }'
}

if [ "${INSN:-0}" = 1 ]; then
    for bench in ${BENCHES:-threadtest-I threadtest-II larson cache-thrash cache-scratch xmalloc mstress}; do
        for t in ${THREADS:-1 2}; do
            line="$bench $t"
            for a in $ALLOCS; do
                line="$line $(insn_one "$bench" "$a")"
            done
            echo "$line" | awk '{ best = $5; if ($6 < best) best = $6; if ($7 < best) best = $7;
                printf "%-13s t=%d instructions ours/fewest=%.2f | glibc %.2f   (M: ours %.1f glibc %.1f jemalloc %.1f mimalloc %.1f tcmalloc %.1f)\n",
                       $1, $2, $3 / best, $3 / $4, $3 / 1e6, $4 / 1e6, $5 / 1e6, $6 / 1e6, $7 / 1e6 }'
        done
    done
    exit 0
fi

# One run: prints "<seconds> <peak KiB>".
run_one() { # bench alloc
    if [ "$1" = memcached ]; then
        memcached_run "$2"
        return
    fi
    # shellcheck disable=SC2046
    "$BIN/allocrun" "$(path_of "$2")" $(cmd "$1") > "$TMP/out" || {
        echo "alloc.sh: $1 t=$t under $2 failed:" >&2; cat "$TMP/out" >&2; exit 1; }
    if [ "$1" = phase ]; then # phase's own line, kept for the memory-return table
        sed -n "s/^phase /$t $2 /p" "$TMP/out" >> "$OUT/phase.dat"
    fi
    sed -n 's/^allocrun: time=\([0-9.]*\) rss_kb=\([0-9]*\)$/\1 \2/p' "$TMP/out"
}

# memcached (Debian's) on loopback with $t worker threads, under a fixed load: memcaslap makes
# MC_OPS requests (10% sets, keys 20-70 B, values 1-1024 B) over 16 connections; the time is the
# load's, the peak RSS memcached's own (VmHWM).
MC_OPS=${MC_OPS:-50000}
memcached_run() {
    port=$((20000 + ($$ + ${t}) % 20000))
    pre=$(path_of "$1")
    [ "$pre" = - ] && pre=""
    user=""
    [ "$(id -u)" != 0 ] || user="-u nobody" # memcached refuses to run as root
    # shellcheck disable=SC2086
    LD_PRELOAD=$pre /usr/bin/memcached $user -U 0 -l 127.0.0.1 -p "$port" -t "$t" -m 1024 -c 1024 &
    MCPID=$!
    i=0
    until memcstat --servers=127.0.0.1:$port >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "alloc.sh: memcached did not start" >&2; exit 1; }
        sleep 0.05
    done
    s=$(date +%s.%N)
    timeout 120 memcaslap -s 127.0.0.1:$port -F "$TMP/mc.cfg" -x "$MC_OPS" -T 1 -c 16 > "$TMP/mc.out" 2>&1 || {
        echo "alloc.sh: memcaslap failed:" >&2; cat "$TMP/mc.out" >&2; exit 1; }
    e=$(date +%s.%N)
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$MCPID/status")
    kill "$MCPID"
    wait "$MCPID" 2>/dev/null || true
    MCPID=""
    echo "$s $e $hwm" | awk '{printf "%.4f %d\n", $2 - $1, $3}'
}

# Inputs of the real programs, made once.
prepare() {
    awk 'BEGIN { srand(7); for (i = 0; i < 1000000; i++) { n = 3 + int(rand() * 12); w = "";
             for (j = 0; j < n; j++) w = w sprintf("%c", 97 + int(rand() * 26));
             print w, int(rand() * 1000000) } }' > "$TMP/words"
    printf 'key\n20 70 1\nvalue\n1 1024 1\ncmd\n0 0.1\n1 0.9\n' > "$TMP/mc.cfg"
}

: > "$DAT"
: > "$OUT/alloc.txt"
SYNTH="threadtest-I threadtest-II larson cache-thrash cache-scratch xmalloc mstress phase"
REAL="python sort memcached"
prepare
: > "$OUT/phase.dat"
for bench in ${BENCHES:-$SYNTH $REAL}; do
    case " $REAL " in
    *" $bench "*) threads=${REAL_THREADS:-1 2} ;;
    *) threads=${THREADS:-1 2 4 8} ;;
    esac
    [ "$bench" = python ] && threads=1 # one interpreter thread does the work (the GIL)
    for t in $threads; do
        r=0
        while [ $r -lt "$REPS" ]; do
            for a in $ALLOCS; do
                res=$(run_one "$bench" "$a")
                [ -n "$res" ] || exit 1
                echo "$bench $t $a $res" >> "$DAT"
            done
            r=$((r + 1))
            [ "$bench" != phase ] || break # its time is seconds and its memory deterministic
        done
        awk -v b="$bench" -v t="$t" '
            $1 == b && $2 == t { if (!($3 in T) || $4 < T[$3]) T[$3] = $4; if (!($3 in R) || $5 < R[$3]) R[$3] = $5 }
            END {
                bt = ""; br = "";
                split("jemalloc mimalloc tcmalloc", P, " ");
                for (i = 1; i <= 3; i++) {
                    if (bt == "" || T[P[i]] < T[bt]) bt = P[i];
                    if (br == "" || R[P[i]] < R[br]) br = P[i];
                }
                printf "%-13s t=%d time ours/best=%.2f (%s) rss ours/lowest=%.2f (%s) | glibc: time %.2f rss %.2f   (s: ours %.3f %s %.3f; KiB: ours %d %s %d)\n",
                    b, t, T["ebb"] / T[bt], bt, R["ebb"] / R[br], br, T["ebb"] / T["glibc"], R["ebb"] / R["glibc"],
                    T["ebb"], bt, T[bt], R["ebb"], br, R[br] }' "$DAT" | tee -a "$OUT/alloc.txt"
    done
done

if [ -s "$OUT/phase.dat" ]; then
    echo "phase (1 GiB of mixed sizes, 90% freed at random, then 1 s idle): RSS / live bytes"
    awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
           printf "  t=%s %-9s live %6.1f MiB  rss after the frees %6.1f MiB (%.2fx)  after idling %6.1f MiB (%.2fx)\n",
                  $1, $2, v["live_kb"] / 1024, v["rss_busy_kb"] / 1024, v["rss_busy_kb"] / v["live_kb"],
                  v["rss_kb"] / 1024, v["ratio"] }' "$OUT/phase.dat"
fi

plot "$OUT/alloc.txt"
