#!/bin/bash
# Builds the Linux-VM baseline from Debian packages only: Debian's kernel and a busybox-static
# initramfs holding the stock NPtcp, iperf (2) and memcached with their libraries. The guest
# loads the virtio-net modules, takes lip=A.B.C.D/N [lgw=G] from its command line (not ip=, which
# the kernel would parse itself), starts `NPtcp -l NPL -u NPU -p NPP` (the receiver, restarted
# after each run; npl=, npu=, npp= on the command line, defaults 1, 1048576, 3: the client must
# use the same),
# `iperf -s` and `memcached -p 11211 -U 0 -u root`, and prints "linux: ready on A.B.C.D".
#   tests/bench/linux_vm.sh OUTDIR   -> OUTDIR/vmlinuz, OUTDIR/initrd.gz (reused when present)
set -eu
out=${1:?usage: linux_vm.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Bump when the initramfs changes: an older build in OUTDIR is then made again.
VERSION=3
[ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] && [ "$(cat "$out/version" 2>/dev/null)" = $VERSION ] && exit 0
for b in NPtcp iperf memcached cpio; do
    command -v $b > /dev/null || { echo "linux_vm: $b missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/linuxvm.XXXXXX)
trap 'rm -rf "$work"' EXIT
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$kpkg" ] || { echo "linux_vm: no linux-image-amd64 in apt's lists (apt-get update?)" >&2; exit 1; }
(cd "$work" && apt-get download "$kpkg" busybox-static > /dev/null 2>&1) ||
    { echo "linux_vm: apt-get download $kpkg busybox-static failed" >&2; exit 1; }
mkdir "$work/x" "$work/root"
for d in "$work"/*.deb; do dpkg-deb -x "$d" "$work/x"; done
kver=${kpkg#linux-image-}
r=$work/root
mkdir -p $r/bin $r/proc $r/sys $r/dev $r/tmp $r/etc $r/mods $r/lib64 $r/lib/x86_64-linux-gnu $r/usr/lib/x86_64-linux-gnu
# memcached -u root looks root up, NPtcp looks "tcp" up (getprotobyname): the C library reads
# these files for that.
echo "root:x:0:0:root:/:/bin/sh" > $r/etc/passwd
echo "root:x:0:" > $r/etc/group
printf 'ip 0 IP\ntcp 6 TCP\nudp 17 UDP\n' > $r/etc/protocols
cp "$work/x/bin/busybox" $r/bin/busybox
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
    f=$(find "$work/x/lib/modules/$kver" -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "linux_vm: module $m not in $kpkg" >&2; exit 1; }
    cp "$f" $r/mods/
done
for b in NPtcp iperf memcached; do
    cp "$(command -v $b)" $r/bin/
    ldd "$(command -v $b)" | grep -o '/[^ ]*' | while read -r lib; do cp -L "$lib" "$r$lib"; done
done
cat > $r/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
    insmod /mods/$m.ko
done
lip= lgw= npl=1 npu=1048576 npp=3
for w in $(cat /proc/cmdline); do
    case "$w" in
        lip=*) lip=${w#lip=} ;; lgw=*) lgw=${w#lgw=} ;;
        npl=*) npl=${w#npl=} ;; npu=*) npu=${w#npu=} ;; npp=*) npp=${w#npp=} ;;
    esac
done
ip link set lo up
ip link set eth0 up
[ -n "$lip" ] && ip addr add "$lip" dev eth0
[ -n "$lgw" ] && ip route add default via "$lgw"
(while true; do NPtcp -l $npl -u $npu -p $npp > /dev/null 2>&1; done) &
iperf -s > /dev/null 2>&1 &
memcached -p 11211 -U 0 -u root -d
echo "linux: ready on ${lip%/*}"
while true; do sleep 3600; done
INIT
chmod +x $r/init
cp "$work/x/boot/vmlinuz-$kver" "$out/vmlinuz"
(cd $r && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$out/initrd.gz")
echo $VERSION > "$out/version"
echo "linux_vm: $kpkg + busybox initramfs in $out"
