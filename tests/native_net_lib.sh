# Shared by tests/native_net.t and tests/bench/native_net.sh (sourced): a network namespace of
# their own holding a multiqueue tap (tap0) with Linux's address on it, guests (QEMU) started
# inside it, and all of it removed on exit. Every address stays inside the namespace.
. tests/lib.sh

inns() { ip netns exec "$NS" "$@"; }

# net_ns_setup NAME LINUX_ADDR/N: makes the namespace NAME$$ and $TMP; 1 if it cannot.
net_ns_setup() {
    NS=$1$$
    TMP=$(mktemp -d "/tmp/$1.XXXXXX")
    QPIDS=""
    trap net_ns_cleanup EXIT
    trap 'exit 1' INT TERM
    ip netns add "$NS" || return 1
    inns ip link set lo up
    inns ip tuntap add dev tap0 mode tap multi_queue || return 1
    inns ip addr add "$2" dev tap0
    inns ip link set tap0 up
}

net_ns_cleanup() {
    for p in $QPIDS; do kill "$p" 2>/dev/null; done
    ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
    sleep 0.3
    ns_delete "$NS"
    rm -rf "$TMP"
}

# guest_start OUT PATTERN CMD...: runs CMD in the namespace in the background (not through a
# function, so that $LAST is the process a kill stops: ip execs CMD) and waits up to 2 minutes
# for PATTERN in OUT. 1 if the guest ended or never printed it.
guest_start() {
    local out=$1 pat=$2
    shift 2
    ip netns exec "$NS" "$@" > "$out" 2>&1 &
    LAST=$!
    QPIDS="$QPIDS $LAST"
    for _ in $(seq 1200); do
        grep -q "$pat" "$out" 2>/dev/null && return 0
        kill -0 $LAST 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
guest_stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
