#!/bin/sh
# The layers hold (docs/architecture.md): core/, mem/ and net/ include no platform header but the
# contract (core/platform.h) and no Linux header; every hook the contract declares is defined,
# never weakly, by each platform's library, so that a platform missing one fails to link.
B=${B:-build}
echo "1..4"
bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](ebb_platform\.h|ebb_hosted\.h|ebb_native\.h|net_hosted\.h|native\.h|platform/|sys/|unistd\.h|pthread\.h|arpa/|netinet/|linux/|valgrind/)' \
      core/*.[ch] mem/*.[ch] net/*.[ch] | grep -v '^core/platform\.h:.*"ebb_platform\.h"')
if [ -z "$bad" ]; then echo "ok 1 - core/, mem/, net/ include no platform or Linux header but the contract"
else echo "not ok 1 - platform headers included outside platform/:"; echo "$bad" | sed 's/^/#   /'; fi
# The hooks: every function declared at the start of a line in core/platform.h, except what the
# runtime itself gives platforms (declared after "What the runtime gives a platform").
hooks=$(sed '/What the runtime gives a platform/,$d' core/platform.h |
        sed -nE 's/^[a-z_].*[ *]([a-z_0-9]+)\(.*\);.*/\1/p' | sort -u)
[ -n "$hooks" ] || { echo "not ok 2 - no hooks found in core/platform.h"; exit 1; }
n=2
for lib in $B/lib/libebbrt-hosted.a $B/native/lib/libebbrt-native.a; do
  syms=$(nm -g "$lib" 2>/dev/null)
  missing=""; weak=""
  for h in $hooks; do
    echo "$syms" | grep -qE " T $h\$" || missing="$missing $h"
    echo "$syms" | grep -qE " [Ww] $h\$" && weak="$weak $h"
  done
  if [ -z "$missing$weak" ]; then echo "ok $n - $(basename "$lib") defines every platform hook, none weakly"
  else echo "not ok $n - $(basename "$lib"): missing:$missing weak:$weak"; fi
  n=$((n + 1))
done
# No weak definitions of the hooks anywhere above the platforms either.
weakdefs=$(grep -nE '__attribute__\(\(weak\)\)' core/*.c mem/*.c net/*.c |
           grep -E "$(echo $hooks | tr ' ' '|')")
if [ -z "$weakdefs" ]; then echo "ok 4 - no layer above the platforms defines a hook weakly"
else echo "not ok 4 - weak stand-ins:"; echo "$weakdefs" | sed 's/^/#   /'; fi
