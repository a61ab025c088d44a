# Sourced by the tests and benchmarks that need a ZooKeeper server (Debian's zookeeper, whose
# service, if installed, stays off: scripts/deps.sh). Each starts its own, on a free port, in a
# directory of its own, and stops it on exit.
#   zk_start DIR ADDR PORT [NETNS]   a server listening on ADDR:PORT (in network namespace NETNS
#                                    if given); waits until it answers (ZK_PID: its pid)
#   zk_stop                          stops it and waits for it to end
ZK_PID=""
zk_start() {
  d=$1; mkdir -p "$d/data"
  cat > "$d/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$d/data
clientPort=$3
clientPortAddress=$2
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
  # Debian's zkEnv.sh ignores --config: the file is passed instead. A small heap: a test's load.
  export JVMFLAGS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
  if [ -n "${4:-}" ]; then
    ZOO_LOG_DIR=$d ip netns exec "${4:-}" /usr/share/zookeeper/bin/zkServer.sh start-foreground "$d/zoo.cfg" > "$d/zk.log" 2>&1 &
  else
    ZOO_LOG_DIR=$d /usr/share/zookeeper/bin/zkServer.sh start-foreground "$d/zoo.cfg" > "$d/zk.log" 2>&1 &
  fi
  ZK_PID=$!
  i=0
  while [ $i -lt 300 ]; do
    if [ -n "${4:-}" ]; then r=$(echo ruok | ip netns exec "${4:-}" nc -q1 -w2 "$2" "$3" 2>/dev/null)
    else r=$(echo ruok | nc -q1 -w2 "$2" "$3" 2>/dev/null); fi
    [ "$r" = imok ] && return 0
    kill -0 "$ZK_PID" 2>/dev/null || break
    sleep 0.2; i=$((i + 1))
  done
  echo "# ZooKeeper did not start:" >&2; tail -20 "$d/zk.log" | sed 's/^/# /' >&2
  return 1
}
zk_stop() {
  [ -n "$ZK_PID" ] || return 0
  # zkServer.sh exec's java (start-foreground): its pid is the server's; a netns exec'd one too.
  kill "$ZK_PID" 2>/dev/null
  i=0; while kill -0 "$ZK_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
  kill -9 "$ZK_PID" 2>/dev/null
  wait "$ZK_PID" 2>/dev/null
  ZK_PID=""
}
