# cli_common.sh: shared set-up for the command-line tests (sourced).
set -u
BUILD=${AIWAE_BUILDDIR:-$(pwd)}
SRC=${AIWAE_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
RUN="$BUILD/aiwae-run"
REPORT="$BUILD/aiwae-report"
MKIDX="$BUILD/tests/mkidx"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aiwae-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAILED: $*"; }
# A test that cannot run says why (tests/summary.sh lists it) and exits 77, automake's SKIP.
skip() {
  echo "aiwae-skip: $(basename "$0" .sh): $*"
  exit 77
}
finish() {
  echo "$(basename "$0" .sh): $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
# A tiny IDX data set: 8x8 images, 240 train and 60 test.
make_data() {
  "$MKIDX" "$TMP/train.idx" 240 8 8 1 "$TMP/train-labels.idx" &&
  "$MKIDX" "$TMP/test.idx" 60 8 8 2 "$TMP/test-labels.idx"
}
# Assertions over the last command's exit status, stdout ($TMP/out) and stderr ($TMP/err).
expect_status() { # expected-status description command...
  want=$1; what=$2; shift 2
  "$@" > "$TMP/out" 2> "$TMP/err"
  got=$?
  if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else bad "$what: exit $got, expected $want; stderr: $(head -c 300 "$TMP/err")"; fi
}
expect_out() { # substring description
  if grep -qF -- "$1" "$TMP/out"; then ok "$2"; else bad "$2: stdout lacks '$1': $(head -c 400 "$TMP/out")"; fi
}
expect_err() { # substring description
  if grep -qF -- "$1" "$TMP/err"; then ok "$2"; else bad "$2: stderr lacks '$1': $(head -c 300 "$TMP/err")"; fi
}
