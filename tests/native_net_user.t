#!/bin/bash
# A native image on QEMU's user networking (no root, no tap): the address from QEMU's DHCP
# server, TCP and UDP echo through ports forwarded from the loopback address.
B=${B:-build}
echo "1..4"
n=0; fail=0
. tests/lib.sh
TMP=$(mktemp -d /tmp/ebvuser.XXXXXX)
Q=
trap '[ -n "$Q" ] && kill $Q 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
# A loopback port nobody listens on (TCP and UDP).
for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    ss -Htaun | awk '{print $5}' | grep -q ":$port\$" || break
done
scripts/qemu-run --timeout 120 --smp 1 \
    --net user,hostfwd=tcp:127.0.0.1:$port-:7,hostfwd=udp:127.0.0.1:$port-:7 \
    "$B/native/echo.elf" > "$TMP/out" 2>&1 &
Q=$!
for _ in $(seq 300); do
    grep -q "ready on" "$TMP/out" && break
    kill -0 $Q 2>/dev/null || break
    sleep 0.1
done
grep -q "echo: ready on 10.0.2.15 port 7" "$TMP/out"
t $? "native echo gets 10.0.2.15 from QEMU's DHCP server" || sed 's/^/# /' "$TMP/out"
head -c 2000000 /dev/urandom > "$TMP/data"
got=$(timeout 60 socat -t 30 -b 65536 TCP:127.0.0.1:$port - < "$TMP/data" | sha256sum)
t "$([ "$got" = "$(sha256sum < "$TMP/data")" ]; echo $?)" "2 MB TCP echo through the forwarded port, sha256 equal"
got=$(echo "udp through slirp" | timeout 10 socat -T 5 - UDP:127.0.0.1:$port)
t "$([ "$got" = "udp through slirp" ]; echo $?)" "UDP echo through the forwarded port"
kill $Q 2>/dev/null
wait $Q
t "$(pgrep -f "hostfwd=tcp:127.0.0.1:$port-" > /dev/null; [ $? = 1 ]; echo $?)" "stopping the launcher stops QEMU"
exit $fail
