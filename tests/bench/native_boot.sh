#!/bin/sh
# Boot time of a native image under TCG with 2 vCPUs (make bench-native-boot):
#  - in the guest, from TSC stamps: the kernel's first instruction -> main(), and the VM's start
#    -> the first instruction (under TCG the guest TSC counts from the VM's start: the firmware);
#  - on the host: QEMU start -> the line main() prints, and -> QEMU's exit;
#  - the baseline, in the same run: QEMU start -> exit of a stub kernel that exits at its first
#    instruction (QEMU's and the firmware's own cost);
# with qboot (the launcher's default) and SeaBIOS; medians of N runs. Then the image sizes.
set -eu
B=${1:-build}
N=${N:-10}
stub=$B/bench/exit_stub.elf
mkdir -p "$B/bench"
as --32 -o "$B/bench/exit_stub.o" tests/bench/exit_stub.S
ld -m elf_i386 -Ttext=0x100000 -e _start -o "$stub" "$B/bench/exit_stub.o"
ACCEL=tcg perl -MTime::HiRes=time -e '
use strict;
my ($n, $img, $stub) = @ARGV;
sub run { # -> (ms to the boot-probe line, ms to exit, probe line)
    my @cmd = ("scripts/qemu-run", "--smp", "2", "--timeout", "30", @_);
    my $t0 = time;
    open(my $fh, "-|", join(" ", @cmd) . " 2>/dev/null") or die "cannot run @cmd";
    my ($tm, $probe);
    while (my $l = <$fh>) { if ($l =~ /boot-probe/) { $tm = time; $probe = $l; } }
    close $fh;
    return (defined $tm ? ($tm - $t0) * 1e3 : -1, (time - $t0) * 1e3, $probe // "");
}
sub med { my @s = sort { $a <=> $b } @_; return $s[int($#s / 2)]; }
for my $fw ("qboot", "seabios") {
    my (@main, @exit, @fwms, @k2m, @base);
    for (1 .. $n) {
        my ($m, $e, $p) = run("--firmware", $fw, $img);
        push @main, $m; push @exit, $e;
        push @fwms, $1 if $p =~ /firmware_ms=([\d.]+)/;
        push @k2m, $1 if $p =~ /kernel_to_main_ms=([\d.]+)/;
        my (undef, $b) = run("--firmware", $fw, $stub);
        push @base, $b;
    }
    printf "native boot, TCG, 2 vCPUs, %s, median of %d: first instruction -> main %.1f ms (target < 10); VM start -> first instruction (firmware) %.1f ms\n",
        $fw, $n, med(@k2m), med(@fwms);
    printf "  QEMU start -> main %.0f ms (target < 150), -> exit %.0f ms; baseline stub QEMU start -> exit %.0f ms; ratio to the baseline %.2f (main), %.2f (exit)\n",
        med(@main), med(@exit), med(@base), med(@main) / med(@base), med(@exit) / med(@base);
}
' "$N" "$B/native/native_boot.elf" "$stub"
for img in helloworld native_boot; do
  f=$B/native/$img.elf
  strip -o "$B/bench/$img.stripped" "$f"
  echo "image $img.elf: $(stat -c %s "$f") bytes, stripped $(stat -c %s "$B/bench/$img.stripped") bytes (target < 262144); $(size "$f" | awk 'NR==2 {print "text " $1 ", data " $2 ", bss " $3}')"
done
