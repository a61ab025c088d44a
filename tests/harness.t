#!/bin/bash
# The harness tests itself: deliberately broken tests (build/tests/harness_broken, tests/tap.h)
# run through prove as `make test` runs them (tests/timelimit), and each must be reported as a
# failure with its reason; a sound one must pass.
B=${B:-build}
bin=$(realpath "$B/tests/harness_broken")
limit=$(realpath tests/timelimit)
d=$(mktemp -d /tmp/ebbharness.XXXXXX)
trap 'rm -rf "$d"' EXIT
n=0; fail=0
. tests/lib.sh

# prove FILE [TEST_TIMEOUT]: runs one test file under prove; output in $out, status in $rc.
run() {
  out=$(cd "$d" && TEST_TIMEOUT=${2:-60} prove -e "$limit" "$1" 2>&1); rc=$?
}
# case MODE EXPECTED-TEXT DESCRIPTION: the mode fails, and prove's output says why.
case_fails() {
  printf '#!/bin/sh\nexec %s %s\n' "$bin" "$1" > "$d/$1.t"; chmod +x "$d/$1.t"
  run "$1.t" "${4:-60}"
  if [ $rc != 0 ] && grep -q "Result: FAIL" <<<"$out" && grep -qF -- "$2" <<<"$out"; then
    t 0 "$3"
  else
    t 1 "$3"; sed 's/^/#   /' <<<"$out"
  fi
}

printf '#!/bin/sh\nexec %s pass\n' "$bin" > "$d/pass.t"; chmod +x "$d/pass.t"
run pass.t
t "$([ $rc = 0 ] && grep -q "Result: PASS" <<<"$out"; echo $?)" "a sound test passes (the control)"
case_fails fail "#   got 2, want 3" "a failed assertion fails the test"
case_fails exit-early "tap: exited after 1 of 3 planned assertions, without tap_done()" \
  "exit(0) before the planned assertions fails, with the count"
case_fails dropped "tap: planned 3 assertions but ran 2" "a dropped assertion fails, with the count"
case_fails no-done "tap: exited after 1 assertions, without tap_done()" \
  "a return from main without tap_done() fails"
case_fails deadline "tap: timed out after 1 s (tap_deadline)" "tap_deadline fails a hang, with the time"
case_fails hang "timelimit: hang.t did not finish within 2 s and was stopped" \
  "a hang without a deadline of its own is stopped by the suite's time limit" 2

# A hanging script: stopped at the limit with its children, and its EXIT trap still cleans up.
cat > "$d/script.t" <<EOF2
#!/bin/bash
trap 'touch "$d/cleaned"' EXIT
echo 1..1
sleep 1000 &
echo \$! > "$d/child"
wait
EOF2
chmod +x "$d/script.t"
run script.t 2
t "$([ $rc != 0 ] && grep -q "timelimit: script.t did not finish within 2 s" <<<"$out"; echo $?)" \
  "a hanging script fails with the time limit as its reason"
t "$([ -e "$d/cleaned" ]; echo $?)" "the stopped script's EXIT trap ran"
# The child dies at once but is reaped by init a moment later: wait for it to go (or be a zombie).
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
child=$(cat "$d/child" 2>/dev/null)
for _ in $(seq 50); do [ -n "$child" ] && ! gone "$child" && sleep 0.1; done
t "$([ -n "$child" ] && gone "$child"; echo $?)" "the script's own children were stopped too"
echo "1..$n"
exit $fail
