# Shared by the tests that run the stack against Linux over a tap device (sourced). They create
# their own tap device and remove it, with everything they started, on exit.
B=${B:-build}
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
done_tests() { echo "1..$n"; exit $fail; }

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
    echo "1..0 # SKIP needs root and /dev/net/tun"; exit 0
fi
TMP=$(mktemp -d /tmp/ebbnet.XXXXXX)
# A subnet of our own: other worktrees may run these tests at the same time on this machine, and
# two taps with one subnet would steal each other's routes.
NET=10.$((64 + $$ % 128)).$(( ($$ / 128) % 250 + 1))
PIDS=""
TAP=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.1
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    [ -n "$NFT_TABLE" ] && nft delete table netdev "$NFT_TABLE" 2>/dev/null
    [ -n "$TAP" ] && ip link del "$TAP" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# make_tap NAME LINUX_ADDR/N
make_tap() {
    TAP=$1
    ip tuntap add dev "$TAP" mode tap || { echo "1..0 # SKIP cannot create a tap device"; exit 0; }
    ip addr add "$2" dev "$TAP" && ip link set "$TAP" up
}

# start_app NAME OUTFILE ARGS...: runs build/hosted/NAME in the background, waits for "ready".
start_app() {
    app=$1; out=$2; shift 2
    "$B/hosted/$app" "$@" > "$out" 2>&1 &
    PIDS="$PIDS $!"
    LAST_PID=$!
    i=0
    while [ $i -lt 100 ]; do
        grep -q "ready on" "$out" && return 0
        kill -0 $LAST_PID 2>/dev/null || break
        sleep 0.1; i=$((i+1))
    done
    cat "$out" >&2
    return 1
}
stop_app() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
