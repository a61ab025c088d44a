#!/bin/sh
# Static ids (core/ids.h): a manifest's generated binding table compiles only when every id it
# binds is a system id named as such or lies in the applications' range, and no id is bound twice.
B=${B:-build}
repo=$(pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo "1..5"
cat > "$T/ids.h" <<'H'
#include "core/ebb.h"
#define EBB_ID_MINE   EBB_ID(0, 100)
#define EBB_ID_OTHER  EBB_ID(0, 101)
#define EBB_ID_SAME   EBB_ID(0, 100)
#define EBB_ID_SHADOW EBB_ID(0, 8)
#define EBB_ID_HIGH   EBB_ID(0, 300)
extern struct ebb_root r1, r2;
H
# try NAME "bind lines...": generates the table and compiles it; prints the compiler's errors.
try() {
    d="$T/$1"; mkdir -p "$d"; shift
    { echo "include \"$T/ids.h\""; for b in "$@"; do echo "$b"; done; } > "$d/m.manifest"
    "$B/bin/ebbgen" -o "$d" --manifest "$d/m.manifest" >"$d/err" 2>&1 &&
      cc -std=gnu11 -Wall -Wextra -Werror -I"$repo" -I"$repo/$B/gen" -Iplatform/hosted/include \
         -DEBB_HOSTED -c "$d/bindings.gen.c" -o "$d/b.o" >"$d/err" 2>&1
}
t() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; sed 's/^/#   /' "$3" | head -5; fi; }
try good "bind EBB_ID_MINE r1" "bind EBB_ID_OTHER r2" "bind EBB_ID_MALLOC r1"
t $? "1 - application ids in their range and a system id by its name are accepted" "$T/good/err"
try shadow "bind EBB_ID_SHADOW r1"
[ $? != 0 ] && grep -q "EBB_ID_SHADOW: neither a system id" "$T/shadow/err"
t $? "2 - an application id equal to the Messenger's is refused at build time, by name" "$T/shadow/err"
try high "bind EBB_ID_HIGH r1"
[ $? != 0 ] && grep -q "EBB_ID_HIGH" "$T/high/err"
t $? "3 - an application id in the dynamic range is refused" "$T/high/err"
try twice "bind EBB_ID_MINE r1" "bind EBB_ID_SAME r2"
[ $? != 0 ] && grep -q "duplicate case value" "$T/twice/err"
t $? "4 - two bindings of one id (under two names) are refused" "$T/twice/err"
grep -q "EBB_FIRST_APP_ID" core/ids.h && grep -q "EBB_ID_MESSENGER" core/ids.h &&
  ! grep -rn "define EBB_ID_[A-Z_]* *EBB_ID(0" ebbs/ core/ebb.h >/dev/null
t $? "5 - the system ids are defined in core/ids.h only" /dev/null
