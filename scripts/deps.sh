#!/bin/sh
# Checks that the Debian packages the build and the tests need are installed; as root it installs
# the missing ones, otherwise it prints the exact apt-get line and fails. One list for the project:
# add a package here when a new tool or test needs it.
PKGS="gcc make m4 pkg-config libclang-14-dev llvm-14 binutils perl valgrind gdb
qemu-system-x86 qemu-utils iproute2 iputils-ping nftables ethtool socat netcat-openbsd
dnsmasq-base memcached libmemcached-tools netpipe-tcp iperf libjemalloc2 libjemalloc-dev
libmimalloc2.0 libtcmalloc-minimal4
libssl-dev clang-14 libclang-rt-14-dev python3-pymemcache gnuplot-nox cpio
zookeeperd libzookeeper-mt-dev"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "deps: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >&2 || {
    echo "deps: apt-get failed; run: apt-get install -y$missing" >&2; exit 1; }
  # Installing memcached or zookeeperd starts its service on 11211 / 2181, the user's ports (and
  # 11211 the one `make run` forwards to): the tests start their own servers on free ports, so
  # the services stay off.
  for svc in memcached:memcached zookeeperd:zookeeper; do
    case " $missing " in *" ${svc%%:*} "*)
      s=${svc#*:}
      { systemctl disable --now "$s" || { service "$s" stop; update-rc.d "$s" disable; }
      } > /dev/null 2>&1 ;;
    esac
  done
  exit 0
fi
echo "deps: missing packages. Run as root:" >&2
echo "  apt-get update && apt-get install -y$missing" >&2
exit 1
