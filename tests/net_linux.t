#!/bin/sh
# The same application source over Linux sockets (netif=linux) on loopback: apps/echo serves TCP
# and UDP, apps/tcpsend checks a round trip through it.
B=${B:-build}
n=0; fail=0
. tests/lib.sh
TMP=$(mktemp -d /tmp/ebbnetlinux.XXXXXX)
PORT=$(free_port) || exit 1
"$B/hosted/echo" netif=linux port=$PORT cores=2 > "$TMP/echo.out" 2>&1 &
ECHO=$!
trap 'kill $ECHO 2>/dev/null; rm -rf "$TMP"' EXIT
i=0; while [ $i -lt 50 ] && ! grep -q "ready" "$TMP/echo.out"; do sleep 0.1; i=$((i+1)); done
t "$(grep -q "echo: ready on 127.0.0.1 port $PORT" "$TMP/echo.out"; echo $?)" "echo over Linux sockets is up"
head -c 5000000 /dev/urandom > "$TMP/data"
got=$(timeout 30 socat -t 30 -b 65536 TCP:127.0.0.1:$PORT - < "$TMP/data" | sha256sum)
t "$([ "$got" = "$(sha256sum < "$TMP/data")" ]; echo $?)" "5 MB through echo (netif=linux), sha256 equal"
got=$(echo "linux datagram" | timeout 5 socat -T 3 - UDP:127.0.0.1:$PORT)
t "$([ "$got" = "linux datagram" ]; echo $?)" "UDP echo over Linux sockets"
out=$(timeout 30 "$B/hosted/tcpsend" netif=linux host=127.0.0.1 port=$PORT bytes=3000000 cores=1 2>&1)
t $? "tcpsend (netif=linux) through echo (netif=linux): intact"
echo "# $out" | head -1
"$B/hosted/echo" netif=bogus > "$TMP/bad" 2>&1
t "$([ $? != 0 ] && grep -q "netif=bogus: expected tap:NAME or linux" "$TMP/bad"; echo $?)" "a bad netif= is refused with a message"
"$B/hosted/echo" netif=tap:x ip=10.1.2.3 > "$TMP/bad" 2>&1
t "$([ $? != 0 ] && grep -q "ip=10.1.2.3: expected A.B.C.D/N" "$TMP/bad"; echo $?)" "ip= without a prefix is refused with a message"
echo "1..$n"
exit $fail
