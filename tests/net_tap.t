#!/bin/sh
# The stack against Linux's own over a tap device (root): ping, TCP both ways (Linux client to
# our echo server, our client to a Linux echo server), UDP echo, and the real NPtcp and iperf2
# clients against apps/netpipe and apps/iperf. Offloads (virtio-net header: TSO and checksums
# both ways) are on by default; bulk transfers also run with offload=off, and on a multiqueue tap
# with a queue per core.
. "$(dirname "$0")/net_lib.sh"
make_tap "ebtap$$" $NET.1/24

start_app echo "$TMP/echo.out" netif=tap:$TAP ip=$NET.2/24 port=7 cores=2
t $? "echo app comes up on the tap with a static address"
ECHO=$LAST_PID

in_ns ping -c 3 -i 0.2 -W 2 $NET.2 > "$TMP/ping" 2>&1
t $? "Linux ping gets replies"

head -c 3000000 /dev/urandom > "$TMP/data"
want=$(sha256sum < "$TMP/data")
got=$(in_ns timeout 30 socat -t 60 -b 65536 TCP:$NET.2:7 - < "$TMP/data" | sha256sum)
t "$([ "$got" = "$want" ]; echo $?)" "3 MB through a Linux TCP client and our echo server, sha256 equal"

got=$(echo "datagram to the stack" | in_ns timeout 5 socat -T 3 - UDP:$NET.2:7)
t "$([ "$got" = "datagram to the stack" ]; echo $?)" "UDP echo"

got=$(printf 'x' | in_ns timeout 5 socat - TCP:$NET.2:9 2>&1)
t "$(echo "$got" | grep -q -i "refused"; echo $?)" "a closed port answers with RST (connection refused)"
stop_app $ECHO

# Our stack as the client, Linux as the echo server.
peer socat TCP-LISTEN:7301,bind=$NET.1,reuseaddr,fork EXEC:cat > /dev/null 2>&1
wait_listen tcp 7301
out=$(in_ns timeout 40 "$B/hosted/tcpsend" netif=tap:$TAP ip=$NET.3/24 host=$NET.1 port=7301 \
      bytes=5000000 timeout=30 cores=1 2>&1)
t $? "our TCP client sends 5 MB to a Linux echo server and gets it back intact"
echo "# $out"

# A Linux peer that does not read for 3 s: its window closes, our persist timer probes it, and
# the transfer resumes when it opens.
peer socat TCP-LISTEN:7303,bind=$NET.1,reuseaddr SYSTEM:"sleep 3; cat" > /dev/null 2>&1
wait_listen tcp 7303
out=$(in_ns timeout 60 "$B/hosted/tcpsend" netif=tap:$TAP ip=$NET.6/24 host=$NET.1 port=7303 \
      bytes=30000000 timeout=50 cores=1 2>&1)
rc=$?
probes=$(echo "$out" | sed -n 's/.*tcp_persist_probes=\([0-9]*\).*/\1/p')
t "$([ $rc = 0 ] && [ "${probes:-0}" -gt 0 ]; echo $?)" "zero window: persist probes (${probes:-0}), then 30 MB intact"
echo "$out" | sed 's/^/# /' | head -2

start_app netpipe "$TMP/np.out" netif=tap:$TAP ip=$NET.4/24 cores=1
np=$LAST_PID
in_ns timeout 60 NPtcp -h $NET.4 -u 4096 -n 20 -o "$TMP/np.data" > "$TMP/np.log" 2>&1
rc=$?
t "$([ $rc = 0 ] && [ "$(wc -l < "$TMP/np.data")" -ge 20 ]; echo $?)" "NPtcp runs to completion against apps/netpipe"
[ $rc = 0 ] || cat "$TMP/np.log" | sed 's/^/# /' | tail -5
stop_app $np

start_app iperf "$TMP/iperf.out" netif=tap:$TAP ip=$NET.5/24 cores=1
ip_pid=$LAST_PID
in_ns timeout 30 iperf -c $NET.5 -t 2 > "$TMP/iperf.log" 2>&1
rc=$?
t "$([ $rc = 0 ] && wait_file "$TMP/iperf.out" "bytes in" && grep -q "Bytes" "$TMP/iperf.log"; echo $?)" "iperf client completes against apps/iperf"
grep "sec" "$TMP/iperf.log" | tail -1 | sed 's/^/# /'
stop_app $ip_pid

# Bulk both ways with offloads and without: byte-exact, and the frame count shows which way the
# bytes went (TSO frames of up to 64 KiB, or one frame per 1448-byte segment).
frames() { echo "$1" | sed -n 's/.*tx_frames=\([0-9]*\).*/\1/p'; }
for off in on off; do
    out=$(in_ns timeout 60 "$B/hosted/tcpsend" netif=tap:$TAP ip=$NET.7/24 host=$NET.1 port=7301 \
          bytes=10000000 timeout=50 cores=1 offload=$off 2>&1)
    rc=$?
    f=$(frames "$out")
    if [ $off = on ]; then few=$([ "${f:-0}" -gt 0 ] && [ "${f:-0}" -lt 2000 ]; echo $?)
    else few=$([ "${f:-0}" -gt 6900 ]; echo $?); fi
    t "$([ $rc = 0 ] && [ $few = 0 ]; echo $?)" "offload=$off: our client, 10 MB each way intact in $f frames sent"
    [ $rc = 0 ] || echo "$out" | sed 's/^/# /' | head -3
    start_app echo "$TMP/echo-$off.out" netif=tap:$TAP ip=$NET.8/24 port=7 cores=1 offload=$off
    e=$LAST_PID
    got=$(in_ns timeout 60 socat -t 60 -b 65536 TCP:$NET.8:7 - < "$TMP/data" | sha256sum)
    t "$([ "$got" = "$want" ]; echo $?)" "offload=$off: 3 MB from a Linux client through our echo server, sha256 equal"
    stop_app $e
done
start_app echo "$TMP/echo-bad.out" netif=tap:$TAP ip=$NET.8/24 offload=maybe
t "$([ $? != 0 ] && grep -q "offload=maybe: expected on or off" "$TMP/echo-bad.out"; echo $?)" \
  "offload=maybe is refused with a message"

# A multiqueue tap: two cores, a queue each (the device lists both), connections served by
# both cores, four transfers at once byte-exact.
in_ns ip addr del $NET.1/24 dev $TAP
make_tap "ebmq$$" $NET.129/25 multi_queue
start_app echo "$TMP/mq.out" netif=tap:ebmq$$ ip=$NET.130/25 port=7 cores=2 stats=1
mq=$LAST_PID
nq=$(in_ns ls /sys/class/net/ebmq$$/queues | grep -c '^tx-')
t "$([ "$nq" = 2 ]; echo $?)" "multiqueue tap: our process attached $nq queues for 2 cores"
tp=""
for i in 1 2 3 4; do
    (in_ns timeout 60 socat -t 60 -b 65536 TCP:$NET.130:7 - < "$TMP/data" | sha256sum > "$TMP/mq.$i") &
    tp="$tp $!"
done
for p in $tp; do wait $p; done
ok=0
for i in 1 2 3 4; do [ "$(cat "$TMP/mq.$i")" = "$want" ] && ok=$((ok+1)); done
t "$([ $ok = 4 ]; echo $?)" "multiqueue tap: 4 transfers of 3 MB at once, $ok byte-exact"
wait_file "$TMP/mq.out" "connections per core: [1-9][0-9]* [1-9]"
t $? "multiqueue tap: connections served on both cores ($(grep 'per core' "$TMP/mq.out" | tail -1 | sed 's/.*core: //'))"
stop_app $mq
done_tests
