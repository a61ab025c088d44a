#!/bin/sh
# libebbmalloc.so under unmodified programs (LD_PRELOAD): the malloc family and cross-thread
# frees in a probe program, proof that the library (not glibc) served it, and real tools whose
# output must not change.
B=${B:-build}
LIB=$(realpath "$B/lib/libebbmalloc.so" 2>/dev/null)
PROBE=$B/tests/mem_probe
echo "1..8"
[ -f "$LIB" ] && [ -x "$PROBE" ] || { echo "not ok 1 - $B/lib/libebbmalloc.so and $PROBE are built"; exit 1; }
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

out=$(LD_PRELOAD=$LIB timeout 60 "$PROBE" trim); rc=$?
check $rc "the malloc family works under the library, across threads (a first call of any size) and fork ($out)"
case $out in *usable1=8\ *) r=0 ;; *) r=1 ;; esac
check $r "malloc(1) has the library's 8-byte class, so the library served it"
plain=$(timeout 60 "$PROBE")
case $plain in *usable1=8\ *) r=1 ;; *) r=0 ;; esac
check $r "without the preload glibc serves it ($plain)"

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
seq 1 200000 | awk '{ print ($1 * 7919) % 100003, $1 }' > "$tmp/in"
LD_PRELOAD=$LIB timeout 60 sort -n "$tmp/in" > "$tmp/a"; r1=$?
timeout 60 sort -n "$tmp/in" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b"; check $(( r1 | $? )) "sort gives the same output on the library"

LD_PRELOAD=$LIB timeout 60 perl -e 'my %h; $h{$_} = [1 .. $_ % 40] for 1 .. 100000;
  my $s = 0; $s += @{$h{$_}} for keys %h; print "$s\n"' > "$tmp/p"; r1=$?
[ "$(cat "$tmp/p")" = "1950000" ]; check $(( r1 | $? )) "perl builds and walks a 100000-key hash of arrays"

case $out in *released=1*) r=0 ;; *) r=1 ;; esac
check $r "a freed 64 MiB block leaves the process's resident memory"
case $out in *trimmed=1*) r=0 ;; *) r=1 ;; esac
check $r "what an idle thread freed (120 MiB of 64 B and 1000 B objects) leaves the RSS on its own"

out=$(EBB_ARENA_MB=junk LD_PRELOAD=$LIB timeout 60 "$PROBE" 2>&1)
case $out in *EBB_ARENA_MB*) r=0 ;; *) r=1 ;; esac
check $r "a bad EBB_ARENA_MB gets a clear message"
