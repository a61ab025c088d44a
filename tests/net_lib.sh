# Shared by the tests that run the stack against Linux over a tap device (sourced). Each test
# makes a network namespace of its own and puts everything in it: the tap, its addresses, the
# Linux peers (socat, ping, dnsmasq, NPtcp, iperf) and our application. Nothing but loopback is
# used outside it, and the namespace, with all it holds, is deleted on exit.
#   in_ns CMD...                 run CMD in the namespace
#   make_tap NAME ADDR/N [multi_queue]  a tap in the namespace, Linux's side addressed ADDR/N
#   start_app NAME OUT ARGS...   build/hosted/NAME in the namespace, in the background; waits
#                                for its "ready on" line in OUT (LAST_PID: its pid)
#   peer CMD...                  a Linux peer in the namespace, in the background (killed on exit)
#   wait_listen tcp|udp PORT     waits until something in the namespace listens on PORT
#   wait_file FILE PATTERN       waits until FILE has a line matching PATTERN
#   wait_until CMD...            waits until CMD succeeds (WAIT_S seconds at most, default 10)
. tests/lib.sh
B=${B:-build}
n=0; fail=0
done_tests() { echo "1..$n"; exit $fail; }
# A set-up step that fails on a root machine with /dev/net/tun is a failure, not a skip.
setup_failed() { echo "not ok 1 - set-up: $1"; echo "1..1"; exit 1; }

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (network namespaces, tap devices)"; exit 0; fi
if [ ! -e /dev/net/tun ]; then echo "1..0 # SKIP no /dev/net/tun on this machine"; exit 0; fi

TMP=$(mktemp -d /tmp/ebbnet.XXXXXX)
NS=ebbt-$$-$(basename "$0" .t)
# The namespace is ours alone: any subnet will do.
NET=10.0.0
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    ns_delete "$NS"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || setup_failed "ip netns add $NS"
ip netns exec "$NS" ip link set lo up || setup_failed "loopback up in $NS"

in_ns() { ip netns exec "$NS" "$@"; }

make_tap() {
    TAP=$1
    in_ns ip tuntap add dev "$TAP" mode tap $3 || setup_failed "cannot create tap $TAP"
    in_ns ip addr add "$2" dev "$TAP" && in_ns ip link set "$TAP" up || setup_failed "cannot address tap $TAP"
}

# wait_until CMD...: polls CMD every 50 ms, up to WAIT_S seconds (default 10: a loaded machine
# can be slow to start a peer; a fixed sleep would be either too long or too short).
wait_until() {
    i=0
    while [ $i -lt $((${WAIT_S:-10} * 20)) ]; do
        "$@" && return 0
        sleep 0.05; i=$((i+1))
    done
    return 1
}
wait_file() { wait_until grep -q "$2" "$1" 2>/dev/null; }
listening() { [ -n "$(in_ns ss -Hln"${1%${1#?}}" "sport = :$2")" ]; } # -Hlnt / -Hlnu
wait_listen() { wait_until listening "$1" "$2"; }

# Started with ip netns exec itself (it execs the program), not through a shell function, so
# that $! is the program's pid.
peer() {
    ip netns exec "$NS" "$@" &
    PIDS="$PIDS $!"
    LAST_PID=$!
}

start_app() {
    app=$1; out=$2; shift 2
    ip netns exec "$NS" "$B/hosted/$app" "$@" > "$out" 2>&1 &
    PIDS="$PIDS $!"
    LAST_PID=$!
    i=0
    while [ $i -lt 200 ]; do
        grep -q "ready on" "$out" && return 0
        kill -0 $LAST_PID 2>/dev/null || break
        sleep 0.05; i=$((i+1))
    done
    sed 's/^/# /' "$out"
    return 1
}
stop_app() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
