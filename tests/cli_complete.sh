#!/bin/sh
# Bash completion (completion/aiwae): sources it in bash and checks the completions of options, spec keys
# for --set, option values and run names read from the database; and that the man pages list every
# option that --help lists.
[ -n "${BASH_VERSION:-}" ] || { command -v bash > /dev/null && exec bash "$0" "$@"; }
. "$(dirname "$0")/cli_common.sh"
[ -n "${BASH_VERSION:-}" ] || skip "no bash to test the bash completion with"
make_data || { echo "cannot make data"; exit 1; }
. "$SRC/completion/aiwae"

complete_line() { # LINE: COMPREPLY for the cursor at its end, as the program the line starts with completes it
  COMP_LINE=$1
  COMP_POINT=${#1}
  read -r -a COMP_WORDS <<< "$1"
  case ${COMP_WORDS[0]} in
  *aiwae-run) _aiwae_run ;;
  *) _aiwae_report ;;
  esac
  : > "$TMP/out"
  [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" > "$TMP/out"
}
expect_reply() { # word description: COMPREPLY holds the word
  if grep -qxF -- "$1" "$TMP/out"; then ok "$2"; else bad "$2: no '$1' in: $(tr '\n' ' ' < "$TMP/out" | head -c 300)"; fi
}

complete_line "$RUN --dr"
expect_reply "--dry-run" "aiwae-run options"
complete_line "$RUN --describe="
expect_reply "keys" "--describe=keys after the = break"
complete_line "$RUN --set train.ep"
expect_reply "train.epochs=" "--set completes spec keys"
[ "$(wc -l < "$TMP/out")" -eq 1 ] && ok "--set train.ep has one completion" || bad "--set train.ep: $(cat "$TMP/out")"
complete_line "$RUN --set evaluate[0].ste"
expect_reply "evaluate[0].step_size.init=" "--set completes estimator keys"
complete_line "$REPORT --wat"
expect_reply "--watch" "aiwae-report options"
complete_line "$REPORT --table "
expect_reply "nll" "--table values"
expect_reply "elbo" "--table values (elbo)"
complete_line "$REPORT --format l"
expect_reply "latex" "--format values"

cat > "$TMP/s.yaml" <<YAML
name: comp
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 2, hidden: [4]}
method: {name: iwae}
train: {epochs: 1, batch_size: 60, threads: 1}
evaluate: []
sweep: {method.samples: [1, 2]}
YAML
expect_status 0 "two tiny runs" "$RUN" --quiet --db "$TMP/c.db" "$TMP/s.yaml"
complete_line "$REPORT --db $TMP/c.db --metrics comp"
expect_reply "comp-method.samples=1" "--metrics completes run names from --db"
expect_reply "comp-method.samples=2" "--metrics completes every run"
complete_line "$REPORT --db $TMP/c.db --curves comp-method.samples=1 comp-method.samples="
expect_reply "2" "--curves: a further run, after the = break"
complete_line "$REPORT --db $TMP/none.db --export c"
[ ! -s "$TMP/out" ] && ok "no database: no run names, no noise" || bad "no database: $(cat "$TMP/out")"

# The man pages list every option --help lists.
for prog in aiwae-run aiwae-report; do
  "$BUILD/$prog" --help | grep -o -- '--[a-z][a-z-]*' | sort -u > "$TMP/opts"
  missing=""
  while read -r o; do
    grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$SRC/man/$prog.1" || missing="$missing $o"
  done < "$TMP/opts"
  [ -z "$missing" ] && ok "man/$prog.1 lists every option of --help ($(wc -l < "$TMP/opts"))" \
    || bad "man/$prog.1 lacks$missing"
done
finish
