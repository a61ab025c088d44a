# Sourced by the shell tests.

# t STATUS DESCRIPTION: the next TAP line (numbered by $n), "ok" when STATUS is 0; a failure sets
# fail=1 (the script's exit status) and returns 1, so a caller can stop what depends on it.
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; return 1; fi; }

# Prints a port that no TCP or UDP socket on this machine uses now, below Linux's ephemeral range
# (32768-60999) so that no outgoing connection takes it before the test binds it; other tests
# running at the same time pick from a random start.
free_port() {
  p=$(($(od -An -N2 -tu2 /dev/urandom) % 12000 + 20000))
  i=0
  while [ $i -lt 200 ]; do
    if [ -z "$(ss -Htuan "sport = :$p")" ]; then echo $p; return 0; fi
    p=$(((p - 20000 + 1) % 12000 + 20000)); i=$((i + 1))
  done
  echo "free_port: no free port in 20000-31999" >&2
  return 1
}

# ns_delete NS...: whatever still runs in each namespace (a peer's forked children, QEMU) is
# killed and the namespace deleted with its devices.
ns_delete() {
  for ns in "$@"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  return 0
}
