#!/bin/sh
# docs/guide.md, run as written: its ```sh blocks in order, in one shell started in the repo with
# HOME a fresh directory; each ```LANG file=NAME block written to NAME where the shell is at that
# point; each plain ```text block must appear, line by line, in the output of the sh block
# before it.
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d /tmp/ebbgen-guide.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
# The driver: a script that sources each block, recording where it got to.
awk -v T="$T" '
/^```/ && !inb {
    inb = 1; kind = $1; sub(/^```/, "", kind); file = ""
    if (match($0, /file=[^ ]+/)) file = substr($0, RSTART + 5, RLENGTH - 5)
    if (kind == "sh") { n++; out = T "/block" n ".sh"; printf "" > out
                        printf "echo %d > %s/at\ndate +%%s >> %s/times\n. %s > %s/out%d 2>&1\n", n, T, T, out, T, n >> T "/driver" }
    else if (file != "") { printf "cat > %s <<'"'"'GUIDE_EOF'"'"'\n", file >> T "/driver" }
    else if (kind == "text") { out = T "/want" n; printf "" > out }
    next
}
/^```/ && inb {
    if (kind != "sh" && file != "") print "GUIDE_EOF" >> T "/driver"
    inb = 0; kind = ""; file = ""; next
}
inb && kind == "sh" { print >> out; next }
inb && file != "" { print >> T "/driver"; next }
inb && kind == "text" { print >> out; next }
END { print n > T "/nblocks" }
' docs/guide.md
nb=$(cat "$T/nblocks")
nw=$(ls "$T"/want* 2>/dev/null | wc -l)
echo "1..$((nb + nw))"
mkdir -p "$T/home"
# In a process group of its own, so that a node the guide started in the background and a failed
# step left running is stopped with it.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL HOME="$T/home" T="$T" setsid timeout 600 \
    sh -c 'set -e; . "$T/driver"; echo done > "$T/at"' < /dev/null > "$T/driver.log" 2>&1 &
pid=$!
wait $pid
kill -- -$pid 2>/dev/null
at=$(cat "$T/at" 2>/dev/null)
diag_times=$(tr '\n' ' ' < "$T/times" 2>/dev/null)
n=0; fail=0
for i in $(seq 1 "$nb"); do
    n=$((n + 1))
    first=$(head -1 "$T/block$i.sh")
    if [ "$at" = done ] || [ "$i" -lt "${at:-0}" ]; then
        echo "ok $n - guide block $i runs: $first"
    else
        echo "not ok $n - guide block $i: $first"; fail=1
        [ "$i" = "$at" ] && sed 's/^/# /' "$T/out$i" | tail -20
    fi
    [ -f "$T/want$i" ] || continue
    n=$((n + 1))
    missing=$(grep -vxF -f "$T/out$i" "$T/want$i" 2>/dev/null)
    if [ -f "$T/out$i" ] && [ -z "$missing" ]; then
        echo "ok $n - block $i prints what the guide shows"
    else
        echo "not ok $n - block $i does not print: $missing"; fail=1
        sed 's/^/# /' "$T/out$i" 2>/dev/null | tail -10
    fi
done
echo "# block start times: $diag_times"
exit $fail
