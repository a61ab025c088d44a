#!/bin/sh
# The hosted helloworld: a per-core Ebb answers on every core, and bad arguments get a clear error.
B=${B:-build}
n=0; fail=0
. tests/lib.sh

out=$(timeout 20 "$B/hosted/helloworld" cores=2); rc=$?
t $rc "helloworld cores=2 exits 0"
t "$([ "$(printf '%s\n' "$out" | sort)" = "$(printf 'hello from core 0\nhello from core 1')" ]; echo $?)" \
  "prints hello from core 0 and core 1, once each"
out=$(timeout 20 "$B/hosted/helloworld" cores=3 | sort | tr '\n' ,)
t "$([ "$out" = "hello from core 0,hello from core 1,hello from core 2," ]; echo $?)" "cores=3: three cores answer"
err=$(timeout 20 "$B/hosted/helloworld" nonsense 2>&1); rc=$?
t "$([ $rc = 2 ] && echo "$err" | grep -q "bad argument 'nonsense': expected key=value"; echo $?)" \
  "a word that is not key=value: exit 2 and a message"
err=$(timeout 20 "$B/hosted/helloworld" cores=0 2>&1); rc=$?
t "$([ $rc = 2 ] && echo "$err" | grep -q "cores=0: expected a whole number from 1 to 64"; echo $?)" \
  "cores=0: exit 2 and a message naming the key"
echo "1..$n"
exit $fail
