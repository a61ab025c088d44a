#!/bin/sh
# DHCP: with no ip= the stack asks dnsmasq on the tap for an address (RFC 2131 exchange), then
# answers ping and TCP on it; renews at T1 (dnsmasq sends T1 = 3 s: its leases last at least
# 2 minutes); and when a new, authoritative server NAKs the renewal, starts over and gets an
# address from the new server's range.
. "$(dirname "$0")/net_lib.sh"
make_tap "ebdhcp$$" $NET.1/24
# dnsmasq FIRST LAST LOG [OPTIONS]: a DHCP server on the tap, logging each message to LOG.
dnsmasq_on() {
    first=$1; last=$2; log=$3; shift 3
    peer dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface="$TAP" --bind-interfaces \
        --except-interface=lo --dhcp-range=$NET.$first,$NET.$last,255.255.255.0,2m \
        --dhcp-option=3,$NET.1 --dhcp-option=option:T1,3 --dhcp-leasefile="$TMP/leases" \
        --log-dhcp --log-facility=- "$@" > "$log" 2>&1
    wait_listen udp 67 || setup_failed "dnsmasq did not start: $(tail -1 "$log")"
}
dnsmasq_on 50 99 "$TMP/dnsmasq.log"
DNSMASQ=$LAST_PID

start_app echo "$TMP/echo.out" netif=tap:$TAP port=7 cores=1
t $? "echo app without ip= comes up (DHCP)"
addr=$(sed -n 's/^echo: ready on \([0-9.]*\) .*/\1/p' "$TMP/echo.out")
t "$(case "$addr" in $NET.[5-9][0-9]) echo 0;; *) echo 1;; esac)" "address $addr is from dnsmasq's range"
t "$(grep -q " $addr " "$TMP/leases"; echo $?)" "dnsmasq recorded the lease"
in_ns ping -c 2 -i 0.2 -W 2 "$addr" > /dev/null 2>&1
t $? "ping the leased address"
got=$(echo "over dhcp" | in_ns timeout 10 socat -t 5 - TCP:"$addr":7)
t "$([ "$got" = "over dhcp" ]; echo $?)" "TCP echo on the leased address"

acks() { grep -c "DHCPACK([^)]*) $2 " "$1"; }
renewed() { [ "$(acks "$TMP/dnsmasq.log" "$addr")" -ge 2 ]; }
wait_until renewed
t $? "at T1 (3 s) the stack renews: dnsmasq ACKs $addr again ($(acks "$TMP/dnsmasq.log" "$addr") ACKs)"

# A new server that knows nothing of the lease, with another range, authoritative: it NAKs the
# next renewal; the stack starts over and takes an address from the new range.
kill $DNSMASQ; wait $DNSMASQ 2>/dev/null
rm -f "$TMP/leases"
dnsmasq_on 100 149 "$TMP/dnsmasq2.log" --dhcp-authoritative
new_lease() { grep -q "DHCPACK([^)]*) $NET.1[0-4][0-9] " "$TMP/dnsmasq2.log"; }
WAIT_S=30 wait_until new_lease
new=$(sed -n "s/.*DHCPACK([^)]*) \($NET.1[0-4][0-9]\) .*/\1/p" "$TMP/dnsmasq2.log" | head -1)
t "$(grep -q "DHCPNAK([^)]*) $addr " "$TMP/dnsmasq2.log" && [ -n "$new" ]; echo $?)" \
  "the renewal of $addr is NAKed; the stack starts over and gets ${new:-nothing}"
in_ns ping -c 2 -i 0.2 -W 2 "${new:-0.0.0.0}" > /dev/null 2>&1
t $? "ping the new address"
[ $fail = 0 ] || sed 's/^/# /' "$TMP/dnsmasq2.log" | tail -8
done_tests
