#!/bin/sh
# The framework from outside the tree, as a user gets it: `make install` into a fresh prefix; a
# fresh directory (mktemp) holding tests/ebbgen_oot/ (its own kv.ebb.h, allocator and manifest);
# plain `ebbgen kv.ebb.h`; builds with pkg-config only; run as two hosted nodes, and as a native
# image booted under QEMU. The program checks itself (tests/ebbgen_oot/app.c). The tree's own
# .pc files (build/pkgconfig/) build and run the same program too.
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
B=${B:-build}
T=$(mktemp -d /tmp/ebbgen-oot.XXXXXX) || exit 1
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$T"' EXIT
echo "1..12"
n=0; fail=0
t() { n=$((n+1)); last=$1
     if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
show() { [ "$last" != 0 ] && [ -f "$1" ] && sed 's/^/# /' "$1" | tail -n "${2:-15}"; }
passed() { [ "$1" = 0 ] && grep -q "^app: all [0-9]* checks passed" "$2" && ! grep -q "^not ok" "$2"; }
CFLAGS="-Wall -Wextra -Werror -O2"
SRCS="app.c kv.gen.c bump.c bindings.gen.c"

# The user's build: ebbgen, then every source with the .pc's flags, the library linked first.
build() { # pc-package output-name
    "$EBBGEN" kv.ebb.h && "$EBBGEN" --manifest app.manifest || return 1
    mkdir -p "obj-$2" || return 1
    for f in $SRCS; do
        cc $CFLAGS $(pkg-config --cflags "$1") -c "$f" -o "obj-$2/${f%.c}.o" || return 1
    done
    cc -o "$2" $(pkg-config --libs "$1") obj-"$2"/*.o
}

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install PREFIX="$T/prefix" > "$T/install.log" 2>&1
t $? "make install PREFIX=<fresh prefix>"
show "$T/install.log"
export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
EBBGEN=$(pkg-config --variable=ebbgen ebbrt-hosted)
t "$([ "$EBBGEN" = "$T/prefix/bin/ebbgen" ] && [ -x "$EBBGEN" ]; echo $?)" \
  "pkg-config --variable=ebbgen ebbrt-hosted names the installed ebbgen: $EBBGEN"

mkdir "$T/app" && cp tests/ebbgen_oot/* "$T/app/" && cd "$T/app" || exit 1
build ebbrt-hosted app > build.log 2>&1
t $? "installed: plain 'ebbgen kv.ebb.h', then cc with pkg-config --cflags/--libs ebbrt-hosted"
show build.log

. "$repo/tests/lib.sh"
port=$(free_port) || exit 1
timeout 90 ./app cores=2 node=0 listen=$port log=debug > n0.out 2>&1 &
srv=$!
timeout 90 ./app cores=2 node=1 peers=0@127.0.0.1:$port peer=0 > n1.out 2>&1
rc1=$?
wait $srv
rc0=$?
srv=
passed $rc1 n1.out
t $? "hosted node 1 calls node 0 with every kind of parameter, checks itself, stops node 0"
show n1.out
passed $rc0 n0.out
t $? "hosted node 0: bump allocator on both cores, its own node called from both cores"
show n0.out
grep -q "call of kv.wait_for failed: Connection timed out" n0.out && ! grep -q "failed:" n1.out
t $? "a failed call is logged with interface, method and error, only with log=debug"
[ "$(grep -c "^ok.*served by the bump allocator" n0.out)" = 2 ]
t $? "every malloc each core makes once the runtime started is the replacement's"

mkdir -p native && cd native && cp ../*.h ../*.c ../app.manifest . || exit 1
build ebbrt-native app.elf > build.log 2>&1
t $? "installed: the same sources with pkg-config --cflags/--libs ebbrt-native make an image"
show build.log
QEMU_RUN=$(pkg-config --variable=qemu_run ebbrt-native)
"$QEMU_RUN" --smp 2 --timeout 120 app.elf > boot.out 2>&1
passed $? boot.out
t $? "the native image boots ($QEMU_RUN) and checks its Ebbs, its allocator, calls to itself"
show boot.out
[ "$(grep -c "^ok.*served by the bump allocator" boot.out)" = 2 ]
t $? "native: both cores' mallocs are the replacement's"
cd "$T/app" || exit 1

# The tree's .pc files, without installing.
export PKG_CONFIG_PATH="$repo/$B/pkgconfig"
EBBGEN=$(pkg-config --variable=ebbgen ebbrt-hosted)
mkdir tree && cp kv.ebb.h app.c bump.c bump.h app.manifest tree/
cd tree && build ebbrt-hosted app > build.log 2>&1
t $? "in the tree: the same build with build/pkgconfig/ebbrt-hosted.pc and build/bin/ebbgen"
show build.log
timeout 60 ./app cores=2 > one.out 2>&1
passed $? one.out
t $? "one node from the tree's build checks itself"
show one.out
exit $fail
