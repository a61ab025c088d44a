#!/bin/sh
# DHCP: with no ip= the stack asks dnsmasq on the tap for an address (RFC 2131 exchange), then
# answers ping and TCP on it.
. "$(dirname "$0")/net_lib.sh"
make_tap "ebdhcp$$" $NET.1/24
peer dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface="$TAP" --bind-interfaces \
    --except-interface=lo --dhcp-range=$NET.50,$NET.99,255.255.255.0,10m \
    --dhcp-option=3,$NET.1 --dhcp-leasefile="$TMP/leases" --pid-file="$TMP/dnsmasq.pid" \
    > "$TMP/dnsmasq.log" 2>&1
wait_listen udp 67 || setup_failed "dnsmasq did not start: $(tail -1 "$TMP/dnsmasq.log")"

start_app echo "$TMP/echo.out" netif=tap:$TAP port=7 cores=1
t $? "echo app without ip= comes up (DHCP)"
addr=$(sed -n 's/^echo: ready on \([0-9.]*\) .*/\1/p' "$TMP/echo.out")
t "$(case "$addr" in $NET.[5-9][0-9]) echo 0;; *) echo 1;; esac)" "address $addr is from dnsmasq's range"
t "$(grep -q " $addr " "$TMP/leases"; echo $?)" "dnsmasq recorded the lease"
in_ns ping -c 2 -i 0.2 -W 2 "$addr" > /dev/null 2>&1
t $? "ping the leased address"
got=$(echo "over dhcp" | in_ns timeout 10 socat -t 5 - TCP:"$addr":7)
t "$([ "$got" = "over dhcp" ]; echo $?)" "TCP echo on the leased address"
done_tests
