#!/bin/sh
# tests/ebbgen_wire.c under valgrind memcheck: the payload a stub makes of a struct with padding
# is written to /dev/null, and memcheck reports any uninitialised byte handed to write().
B=${B:-build}
log=$(mktemp); trap 'rm -f "$log"' EXIT
echo "1..1"
if timeout 300 valgrind -q --error-exitcode=99 "$B/hosted/tests/ebbgen_wire" > "$log" 2>&1 \
   && ! grep -q "^not ok" "$log"; then
  echo "ok 1 - stub marshalling under memcheck: no uninitialised byte sent, every check passes"
else
  echo "not ok 1 - ebbgen_wire under memcheck"; sed 's/^/# /' "$log" | head -40
fi
