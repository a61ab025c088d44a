#!/bin/sh
# An out-of-tree program builds against the hosted library through pkg-config and runs.
B=${B:-build}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cat > "$dir/app.c" <<'C'
#include "core/ebb.h"
#include "core/event.h"
#include <stdio.h>
void app_main(void) { printf("cores %u\n", ebb_ncores()); ebb_exit(7); }
C
echo "1..2"
if PKG_CONFIG_PATH=$B/pkgconfig cc -Wall -Werror "$dir/app.c" -o "$dir/app" \
     $(PKG_CONFIG_PATH=$B/pkgconfig pkg-config --cflags --libs ebbrt-hosted) 2>"$dir/err"; then
  echo "ok 1 - an out-of-tree program compiles and links with pkg-config --cflags --libs ebbrt-hosted"
else
  echo "not ok 1 - build with pkg-config failed"; sed 's/^/# /' "$dir/err"
fi
out=$("$dir/app" cores=2); rc=$?
if [ "$rc" = 7 ] && [ "$out" = "cores 2" ]; then echo "ok 2 - it runs on the runtime and its exit code comes back"
else echo "not ok 2 - got rc=$rc out=$out"; exit 1; fi
