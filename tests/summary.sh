#!/bin/sh
# summary.sh LOG...: one account of `make check`, run by check-local after the suites (LOGs are their
# automake .log files; the .trs files beside them hold automake's verdicts).
#
# Tests that cannot run say so, and are counted as skipped, not passed:
#  * a Check test calls AW_SKIP("reason", ...) (tests/skip.h), which prints the line
#        aiwae-skip: <test function>: <reason>
#    and returns. Check counts that test as passed, so here a suite's passed checks are its "Checks: N"
#    minus its failures, errors and aiwae-skip lines.
#  * a shell test prints "aiwae-skip: <script>: <reason>" and exits 77, automake's SKIP: the suite counts
#    as one skipped check. A shell test that runs ends with "<name>: P passed, F failed" (cli_common.sh).
#  * a suite with neither summary line (it crashed, or is a plain program) counts as one check, passed or
#    failed by its automake verdict.
# Output: one line per suite, the skipped tests with their reasons, and last exactly one line
#     checks: N passed, M failed, S skipped
# which CI reads. Exit status 1 when anything failed, else 0.
passed=0; failed=0; skipped=0
skips=$(mktemp "${TMPDIR:-/tmp}/aiwae-skips.XXXXXX") || exit 1
trap 'rm -f "$skips"' EXIT
for log in "$@"; do
  suite=$(basename "$log" .log)
  if [ ! -f "$log" ]; then
    echo "$suite: no log"; failed=$((failed + 1)); continue
  fi
  res=$(sed -n 's/^:test-result: //p' "${log%.log}.trs" 2>/dev/null | head -n 1)
  # (START_TEST(name) defines name_fn, the function AW_SKIP names.)
  grep '^aiwae-skip: ' "$log" | sed -e "s|^aiwae-skip: |  $suite: |" -e 's|^\(  [^:]*: [A-Za-z0-9_]*\)_fn: |\1: |' >> "$skips"
  s=$(grep -c '^aiwae-skip: ' "$log")
  line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
  if [ "$res" = SKIP ]; then
    echo "$suite: skipped"
    [ "$s" -gt 0 ] || echo "  $suite: exited 77 without an aiwae-skip line" >> "$skips"
    skipped=$((skipped + 1))
  elif [ -n "$line" ]; then
    n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    extra=""; [ "$s" -eq 0 ] || extra=", Skipped: $s"
    echo "$suite: $line$extra"
    passed=$((passed + n - f - e - s)); failed=$((failed + f + e)); skipped=$((skipped + s))
    case "$res" in PASS) ;; *) [ $((f + e)) -gt 0 ] || failed=$((failed + 1)) ;; esac
  elif line=$(grep -E '^[A-Za-z_]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1) && [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    echo "$suite: $p passed, $f failed"
    passed=$((passed + p)); failed=$((failed + f))
    case "$res" in PASS) ;; *) [ "$f" -gt 0 ] || failed=$((failed + 1)) ;; esac
  else
    echo "$suite: ${res:-no verdict}"
    case "$res" in PASS|XFAIL) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
  fi
done
if [ -s "$skips" ]; then
  echo "skipped (did not run):"
  cat "$skips"
fi
echo "checks: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
