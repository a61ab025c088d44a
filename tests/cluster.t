#!/bin/bash
# The NodeAllocator and the native Messenger (docs/cluster.md): a hosted front end boots two
# native nodes in QEMU on its own unix-socket switch (no root, no tap, no kernel address) and
# calls them, they call it and each other; a node killed in the middle of a call fails it with
# EBB_ENODEDOWN; then cluster_hello and offload; numa= (a node on host NUMA node 0; a node this host
# lacks or a malformed list refused before any QEMU starts); then SIGINT and SIGKILL of a front
# end: nothing is left behind (no QEMU, no run directory), a SIGKILL's leftovers removed by the
# next front end.
B=${B:-build}
n=0; fail=0
. tests/lib.sh
run=$(mktemp -d /tmp/cluster-t.XXXXXX)
export XDG_RUNTIME_DIR=$run
base=$run/ebbrt-cluster-$(id -u)
hold_pid=
cleanup() {
  [ -n "$hold_pid" ] && kill -KILL "$hold_pid" 2>/dev/null
  for p in $(pgrep -f "qemu-system-x86_64.*$run"); do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$run"
}
trap cleanup EXIT
qemus() { pgrep -f "qemu-system-x86_64.*$run" | wc -l; }
# Waits (bounded) until no QEMU of this test runs.
no_qemu() { for _ in $(seq 100); do [ "$(qemus)" = 0 ] && return 0; sleep 0.1; done; return 1; }
rundirs() { find "$base" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# 1. The front end's own checks, renumbered into this file's.
out=$(timeout 200 "$B/hosted/cluster_test" 2>"$run/err"); rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok "*) t 0 "${line#ok [0-9]* - }" ;;
    "not ok "*) t 1 "${line#not ok [0-9]* - }" ;;
  esac
done <<< "$out"
t $rc "the front end exits 0"
[ $rc = 0 ] || sed 's/^/# /' "$run/err"
no_qemu; t $? "no QEMU left"
t "$(rundirs)" "its run directory is gone"

# 2. cluster_hello as a user runs it.
out=$(timeout 120 "$B/hosted/cluster_hello" nodes=2 node_cores=2 2>"$run/err"); rc=$?
want=$(printf 'hello from node %s core %s\n' 1 0 1 1 2 0 2 1)
t "$([ $rc = 0 ] && [ "$(printf '%s\n' "$out" | sort)" = "$want" ]; echo $?)" "cluster_hello nodes=2 node_cores=2: one hello per node and core, exit 0"
[ $rc = 0 ] || sed 's/^/# /' "$run/err"
no_qemu; t $? "no QEMU left after cluster_hello"
t "$(rundirs)" "no run directory left after cluster_hello"

# A node that does not come up in time: the allocation fails with ETIMEDOUT, its QEMU is killed.
out=$(timeout 120 "$B/hosted/cluster_hello" nodes=1 node_boot_timeout_ms=1 2>&1); rc=$?
t "$([ $rc = 1 ] && echo "$out" | grep -q 'a node did not come up: Connection timed out'; echo $?)" "node_boot_timeout_ms=1: the allocation fails with ETIMEDOUT"
no_qemu; t $? "no QEMU left after the timeout"

# As a user without privileges (nobody), where this machine lets one run the build's files.
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null &&
   setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$B/hosted/cluster_hello" -a -r "$B/native/cluster_hello.elf" 2>/dev/null; then
  nb=$(mktemp -d /tmp/cluster-t-nobody.XXXXXX); chown 65534:65534 "$nb"; chmod 700 "$nb"
  out=$(XDG_RUNTIME_DIR=$nb timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups "$B/hosted/cluster_hello" nodes=1 2>&1); rc=$?
  t "$([ $rc = 0 ] && [ "$out" = "hello from node 1 core 0" ] && [ -z "$(find "$nb" -mindepth 2)" ]; echo $?)" "cluster_hello as user nobody: no root needed, nothing left: $out"
  rm -rf "$nb"
else
  n=$((n+1)); echo "ok $n # SKIP cluster_hello as user nobody: not root, or the build is not readable by nobody"
fi

# 3. The offload example: chunks of work on two nodes, gathered with when_all.
out=$(timeout 120 "$B/hosted/offload" nodes=2 limit=200000 2>"$run/err"); rc=$?
t "$([ $rc = 0 ] && echo "$out" | grep -q '^primes below 200000: 17984 (8 chunks on 2 native nodes'; echo $?)" "offload nodes=2: the nodes' sum is right: $out"
no_qemu; t $? "no QEMU left after offload"

# numa= this host cannot honour fails the allocation with a message, before anything starts.
nodedir=/sys/devices/system/node
last=$(ls -d $nodedir/node[0-9]* 2>/dev/null | sed 's/.*node//' | sort -n | tail -1)
missing=$(( ${last:--1} + 1 ))
out=$(timeout 60 "$B/hosted/cluster_hello" nodes=1 node_numa=$missing 2>&1); rc=$?
t "$([ $rc = 1 ] && echo "$out" | grep -q "cluster: numa=$missing: this host has no NUMA node $missing" &&
     echo "$out" | grep -q 'a node did not come up: No such device'; echo $?)" "node_numa=$missing (no such host node): the allocation fails with ENODEV"
t "$([ "$(qemus)" = 0 ] && [ "$(rundirs)" = 0 ]; echo $?)" "no QEMU was started, no run directory made"
out=$(timeout 60 "$B/hosted/cluster_hello" nodes=1 node_numa=0-x 2>&1); rc=$?
t "$([ $rc = 1 ] && echo "$out" | grep -q 'cluster: numa=0-x: expected host NUMA node numbers' &&
     echo "$out" | grep -q 'a node did not come up: Invalid argument' && [ "$(qemus)" = 0 ]; echo $?)" "node_numa=0-x (malformed): EINVAL, no QEMU"

# A front end holding one node (cluster_test mode=hold ARGS, run under $pre), stopped by a signal.
pre=
hold() {
  $pre "$B/hosted/cluster_test" mode=hold "$@" > "$run/hold.out" 2>"$run/hold.err" &
  hold_pid=$!
  for _ in $(seq 600); do grep -qs '^up' "$run/hold.out" && return 0; sleep 0.1; done
  return 1
}
# 4. SIGINT: the front end removes everything on its way out. Its node runs on host NUMA node 0
# (node_numa=0), the front end held to one CPU of it, so that the QEMU's CPUs come from the node
# and not from what it inherits.
cpus0=
if [ -r $nodedir/node0/cpulist ]; then
  cpus0=$(cat $nodedir/node0/cpulist)
  pre="taskset -c ${cpus0%%[-,]*}"
  hold node_numa=0; t $? "a front end holding a node on host NUMA node 0 (node_numa=0) is up, the node answered a call"
else
  hold; t $? "a front end holding a node is up (this kernel has no NUMA nodes)"
fi
dir=$base/run-$hold_pid
t "$([ "$(stat -c %a "$dir")" = 700 ] && [ "$(stat -c %a "$dir/key")" = 600 ]; echo $?)" "run directory 0700, cluster key file 0600"
qpid=$(cat "$dir/node-1.pid")
if [ -n "$cpus0" ]; then
  allowed=$(cat /proc/$qpid/task/*/status | sed -n 's/^Cpus_allowed_list:\t//p' | sort -u)
  t "$([ "$allowed" = "$cpus0" ]; echo $?)" "every thread of its QEMU runs on node 0's CPUs ($cpus0; the front end on ${pre#taskset -c }): $allowed"
  maps=$(cat /proc/$qpid/numa_maps)
  t "$([ -n "$maps" ] && [ -z "$(echo "$maps" | awk '$2 != "bind:0"')" ]; echo $?)" "all its memory, the guest's RAM too, is bound to node 0 (numa_maps: bind:0)"
else
  n=$((n+1)); echo "ok $n # SKIP node_numa=0: this kernel has no NUMA nodes"
  n=$((n+1)); echo "ok $n # SKIP node_numa=0: this kernel has no NUMA nodes"
fi
pre=
t "$(tr '\0' ' ' < /proc/$qpid/cmdline | grep -q 'key_file=opt/ebbrt/key' && ! tr '\0' ' ' < /proc/$qpid/cmdline | grep -q -- '-append.*key='"$(od -An -tx1 "$dir/key" | tr -d ' \n')"; echo $?)" "the node's key comes through fw_cfg, not its command line"
out=$(timeout 120 "$B/hosted/cluster_hello" nodes=1 2>"$run/err"); rc=$?
t "$([ $rc = 0 ] && [ -e "$dir/key" ] && kill -0 "$qpid"; echo $?)" "a second front end meanwhile works and leaves the first one's directory and QEMU alone"
kill -INT $hold_pid; wait $hold_pid; rc=$?; hold_pid=
t "$([ $rc = 130 ]; echo $?)" "SIGINT stops the front end (status $rc)"
no_qemu; t $? "no QEMU left after SIGINT"
t "$(rundirs)" "no run directory left after SIGINT"

# 5. SIGKILL: the QEMUs die with it (PR_SET_PDEATHSIG); its run directory stays until the next
# front end removes it.
hold; t $? "another front end holding a node is up"
dir=$base/run-$hold_pid
# Without node_numa= its QEMU gets the CPUs the front end started with, not the one CPU its core 0
# thread pinned itself to.
mine=$(sed -n 's/^Cpus_allowed_list:\t//p' /proc/$$/status)
allowed=$(cat /proc/$(cat "$dir/node-1.pid")/task/*/status | sed -n 's/^Cpus_allowed_list:\t//p' | sort -u)
t "$([ "$allowed" = "$mine" ]; echo $?)" "without node_numa=, its QEMU runs on the front end's starting CPUs ($mine): $allowed"
kill -KILL $hold_pid; wait $hold_pid 2>/dev/null; hold_pid=
no_qemu; t $? "its QEMU dies with a SIGKILLed front end"
t "$([ -d "$dir" ]; echo $?)" "its run directory is left behind"
out=$(timeout 120 "$B/hosted/cluster_hello" nodes=1 2>"$run/err"); rc=$?
t "$([ $rc = 0 ] && [ "$out" = "hello from node 1 core 0" ] && [ ! -e "$dir" ]; echo $?)" "the next front end removes it (and works)"
t "$(rundirs)" "nothing left at the end"
echo "1..$n"
exit $fail
