#!/bin/sh
# Hoard threadtest on three allocators in the same run: the general-purpose allocator
# (build/lib/libebbmalloc.so), glibc malloc (no preload) and jemalloc (Debian's libjemalloc2), all
# through LD_PRELOAD of the same binary. Each measurement is the best of REPS runs, interleaved
# so background load hits all three alike. Prints, per config and thread count:
#   threadtest <config> t=<n> ebb/glibc=<ratio> ebb/jemalloc=<ratio>
# Usage: threadtest.sh [BUILD_DIR] [REPS]   (env THREADS="1 2" CONFIGS="I II" to narrow)
set -eu
B=${1:-build}
REPS=${2:-3}
TT=$B/bench/threadtest
EBB=$(realpath "$B/lib/libebbmalloc.so")
JE=$(ldconfig -p | awk '/libjemalloc\.so\.2 /{print $NF; exit}')
[ -n "$JE" ] || JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
for f in "$TT" "$EBB" "$JE"; do
    [ -e "$f" ] || { echo "threadtest: missing $f" >&2; exit 1; }
done

best() { # best of a list of times
    printf '%s\n' "$@" | sort -g | head -n1
}

for cfg in ${CONFIGS:-I II}; do
    case $cfg in
    I) n=100000 i=1000 ;;
    II) n=100 i=1000000 ;;
    *) echo "threadtest: unknown config $cfg" >&2; exit 1 ;;
    esac
    for t in ${THREADS:-1 2}; do
        e="" g="" j=""
        r=0
        while [ $r -lt "$REPS" ]; do
            e="$e $(LD_PRELOAD=$EBB timeout 120 "$TT" "$t" "$i" "$n")"
            g="$g $(timeout 120 "$TT" "$t" "$i" "$n")"
            j="$j $(LD_PRELOAD=$JE timeout 120 "$TT" "$t" "$i" "$n")"
            r=$((r + 1))
        done
        E=$(best $e) G=$(best $g) J=$(best $j)
        awk -v c="$cfg" -v t="$t" -v e="$E" -v g="$G" -v j="$J" 'BEGIN {
            printf "threadtest %s t=%s ebb/glibc=%.2f ebb/jemalloc=%.2f   (s: ebb %.3f glibc %.3f jemalloc %.3f)\n",
                   c, t, e / g, e / j, e, g, j }'
    done
done
