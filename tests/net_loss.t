#!/bin/sh
# 20 MB each way through our echo server with 2% of the frames dropped in both directions on the
# tap (nftables: netem is not available here), byte-exact by sha256; and the same for our own
# client against a Linux echo server. Offloads are off there (offload=off) so that a drop is one
# wire segment; then our client once more with them on, where a drop takes a whole TSO frame.
. "$(dirname "$0")/net_lib.sh"
make_tap "ebloss$$" $NET.1/24
cat > "$TMP/nft" <<NFT
table netdev loss {
  chain in { type filter hook ingress device "$TAP" priority 0; numgen random mod 100 < 2 counter drop; }
  chain out { type filter hook egress device "$TAP" priority 0; numgen random mod 100 < 2 counter drop; }
}
NFT
in_ns nft -f "$TMP/nft" 2>"$TMP/nft.err" ||
    setup_failed "nftables netdev ingress/egress hooks on the tap: $(head -1 "$TMP/nft.err")"

start_app echo "$TMP/echo.out" netif=tap:$TAP ip=$NET.2/24 port=7 cores=1 offload=off
t $? "echo app up behind a lossy tap"
ECHO=$LAST_PID
head -c 20000000 /dev/urandom > "$TMP/data"
want=$(sha256sum < "$TMP/data")
start=$(date +%s)
got=$(in_ns timeout 200 socat -t 100 -b 65536 TCP:$NET.2:7 - < "$TMP/data" | sha256sum)
t "$([ "$got" = "$want" ]; echo $?)" "20 MB each way with 2% loss both ways: sha256 equal ($(( $(date +%s) - start )) s)"
stop_app $ECHO

peer socat TCP-LISTEN:7302,bind=$NET.1,reuseaddr,fork EXEC:cat > /dev/null 2>&1
wait_listen tcp 7302
out=$(in_ns timeout 200 "$B/hosted/tcpsend" netif=tap:$TAP ip=$NET.3/24 host=$NET.1 port=7302 \
      bytes=20000000 timeout=180 cores=1 offload=off 2>&1)
t $? "our client: 20 MB each way with 2% loss, intact" || echo "$out" | sed "s/^/# /" >&2
echo "# $out"
out=$(in_ns timeout 200 "$B/hosted/tcpsend" netif=tap:$TAP ip=$NET.4/24 host=$NET.1 port=7302 \
      bytes=20000000 timeout=180 cores=1 offload=on 2>&1)
t $? "our client with TSO and checksum offload: 20 MB each way with 2% loss, intact" || echo "$out" | sed "s/^/# /" >&2
echo "# $out"

drops=$(in_ns nft list table netdev loss | grep -o 'packets [0-9]*' | awk '{s+=$2} END {print s+0}')
t "$([ "$drops" -gt 100 ]; echo $?)" "the loss was real: nftables dropped $drops frames"
done_tests
