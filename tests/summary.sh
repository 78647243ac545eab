#!/bin/sh
# Prints the Check summary line of every suite and one total, after make check.
total=0; failed=0
for log in "$@"; do
  [ -f "$log" ] || continue
  line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    echo "$(basename "$log" .log): $line"
    n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    total=$((total + n)); failed=$((failed + f + e))
  elif line=$(grep -E '^[A-Za-z_]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1) && [ -n "$line" ]; then
    echo "$(basename "$log" .log): $line" | sed 's/: [A-Za-z_]*: /: /'
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    total=$((total + p + f)); failed=$((failed + f))
  else
    trs="${log%.log}.trs"
    res=$(grep -E '^:test-result:' "$trs" 2>/dev/null | head -n 1 | sed 's/:test-result: //')
    echo "$(basename "$log" .log): $res"
    total=$((total + 1))
    case "$res" in PASS|SKIP|XFAIL) ;; *) failed=$((failed + 1)) ;; esac
  fi
done
echo "checks: $((total - failed)) passed, $failed failed"
