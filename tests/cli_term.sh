#!/bin/sh
# The terminal, signals and pipes: one-line option errors with a suggestion, -o into a missing directory,
# --export --epoch N listing the epochs kept, an AIS evaluation interrupted mid-batch (graceful stop and
# kill -9) resuming to byte-identical values, SIGHUP, a broken pipe on stderr, stale claims in --runs, and the
# live progress line fitted to the terminal's width (in tmux, when installed).
. "$(dirname "$0")/cli_common.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 command is not installed (apt-get install sqlite3); it reads the stored values"
make_data || { echo "cannot make data"; exit 1; }

# ---- option errors: one line, the nearest option, exit 2, in both programs ----
expect_status 2 "misspelt option" "$RUN" --treads 2 x.yaml
[ "$(cat "$TMP/err")" = "aiwae-run: error: unknown option '--treads' (did you mean --threads?); try --help" ] \
  && ok "misspelt option: one line with the suggestion" || bad "misspelt option said: $(cat "$TMP/err")"
expect_status 2 "option without its value" "$RUN" x.yaml --db
expect_err "aiwae-run: error: option '--db' needs a value; try --help" "missing value named"
expect_status 2 "report: misspelt option" "$REPORT" --rnus
[ "$(cat "$TMP/err")" = "aiwae-report: error: unknown option '--rnus' (did you mean --runs?); try --help" ] \
  && ok "report: one line with the suggestion" || bad "report: misspelt option said: $(cat "$TMP/err")"
expect_status 2 "report: ambiguous option" "$REPORT" --s
expect_err "ambiguous option '--s' (could be --samples, --split, --seed" "ambiguous option lists the candidates"

# ---- an AIS evaluation stopped mid-batch resumes from its last temperature, byte for byte ----
cat > "$TMP/spec.yaml" <<YAML
name: term
seed: 5
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 4, hidden: [16, 16]}
method: {name: iwae, samples: 3}
train: {epochs: 2, batch_size: 16, learning_rate: 3.0e-3, schedule: constant, checkpoint_every: 1, threads: 2}
evaluate:
  - {estimator: ais_nll, chains: 4, temperatures: 400, leapfrog: 3, split: test, size: 30, batch: 12}
YAML
points() { sqlite3 "$1" "SELECT estimator, settings, split, epoch, idx, printf('%.17g', value) FROM eval_points ORDER BY 1, 2, 3, 4, 5"; }
t0=$(date +%s%N)
"$RUN" --quiet --db "$TMP/ref.db" "$TMP/spec.yaml" && ok "uninterrupted run" || bad "uninterrupted run failed"
ref_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
points "$TMP/ref.db" > "$TMP/ref.points"
[ "$(wc -l < "$TMP/ref.points")" -eq 30 ] && ok "30 reference points" || bad "reference has $(wc -l < "$TMP/ref.points") points"
AIWAE_STOP_AFTER_TEMPS=150 "$RUN" --quiet --db "$TMP/stop.db" "$TMP/spec.yaml"
st=$?
[ $st -eq 3 ] && ok "stopped mid-batch (exit 3)" || bad "stop mid-batch exited $st"
part=$(sqlite3 "$TMP/stop.db" "SELECT first || ':' || done || '/' || total FROM eval_partial")
[ "$part" = "0:150/399" ] && ok "the batch's state is saved at its temperature ($part)" || bad "saved partial state: '$part'"
[ "$(sqlite3 "$TMP/stop.db" "SELECT count(*) FROM eval_points")" -eq 0 ] && ok "no point of the batch is stored yet" \
  || bad "points were stored before the batch ended"
AIWAE_STOP_AFTER_TEMPS=300 "$RUN" --db "$TMP/stop.db" "$TMP/spec.yaml" 2> "$TMP/err"
st=$?
[ $st -eq 3 ] && ok "stopped in the next batch (exit 3)" || bad "second stop exited $st"
expect_err "ais_nll: resuming points 0..11 from their saved partial state" "resume is announced"
"$RUN" --quiet --db "$TMP/stop.db" "$TMP/spec.yaml" && ok "resumed to the end" || bad "resume failed"
points "$TMP/stop.db" > "$TMP/stop.points"
cmp -s "$TMP/ref.points" "$TMP/stop.points" && ok "values byte-identical after two mid-batch stops" \
  || bad "values differ after mid-batch stops: $(diff "$TMP/ref.points" "$TMP/stop.points" | head -n 4 | tr '\n' ' ')"
[ "$(sqlite3 "$TMP/stop.db" "SELECT count(*) FROM eval_partial")" -eq 0 ] && ok "no partial state left" \
  || bad "partial states left behind"

# kill -9 during the evaluation, saving the state at every temperature: the values stay the same.
"$RUN" --quiet --db "$TMP/kill.db" --set 'evaluate=[]' "$TMP/spec.yaml" || bad "training for the kill test failed"
# kills after a quarter to a half of the uninterrupted run's time, whatever the machine's speed
kills=0; rounds=0; resumed=0
while :; do
  rounds=$((rounds + 1))
  AIWAE_EVAL_SAVE_S=0.000001 "$RUN" --db "$TMP/kill.db" "$TMP/spec.yaml" 2> "$TMP/kill.err" &
  pid=$!
  delay=$(( ref_ms / 4 + (ref_ms / 4) * (rounds % 3) / 2 ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  wait "$pid"
  st=$?
  grep -q "from their saved partial state" "$TMP/kill.err" && resumed=$((resumed + 1))
  [ $st -eq 0 ] && break
  [ $rounds -ge 60 ] && { bad "the evaluation did not finish after $rounds kills"; break; }
done
points "$TMP/kill.db" > "$TMP/kill.points"
if [ "$resumed" -ge 1 ] && cmp -s "$TMP/ref.points" "$TMP/kill.points"; then
  ok "values byte-identical after $kills kill -9 mid-evaluation ($resumed resumed a batch part-way)"
else bad "after $kills kill -9 ($resumed resumed part-way): values differ or no batch was resumed ($(diff "$TMP/ref.points" "$TMP/kill.points" | head -n 2 | tr '\n' ' '))"; fi

# ---- --export --epoch N without that checkpoint lists the epochs kept; -o into a missing directory ----
expect_status 1 "export at an epoch not kept" "$REPORT" --db "$TMP/ref.db" --export term --epoch 7 -o "$TMP/x.safetensors"
expect_err "has no checkpoint kept at epoch 7; epochs kept: 2, 1" "the epochs kept are listed"
expect_status 1 "-o into a missing directory" "$REPORT" --db "$TMP/ref.db" --export term -o "$TMP/no/such/x.safetensors"
expect_err "-o $TMP/no/such/x.safetensors: no directory $TMP/no/such" "the missing directory is named"

# ---- signals and pipes: SIGHUP checkpoints like SIGTERM; a broken pipe on stderr does not leave it running ----
cat > "$TMP/long.yaml" <<YAML
name: long
seed: 1
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 4, hidden: [16, 16]}
method: {name: aiwae, samples: 3, temperatures: 4, leapfrog: 3}
train: {epochs: 400, batch_size: 16, schedule: constant, threads: 2}
evaluate: []
YAML
status_of() { sqlite3 "$1" "SELECT status FROM runs"; }
"$RUN" --quiet --db "$TMP/hup.db" "$TMP/long.yaml" &
pid=$!
sleep 1
kill -HUP "$pid"
wait "$pid"
st=$?
[ $st -eq 3 ] && ok "SIGHUP: exit 3" || bad "SIGHUP: exit $st"
[ "$(status_of "$TMP/hup.db")" = interrupted ] && ok "SIGHUP: run marked interrupted" \
  || bad "SIGHUP: run is $(status_of "$TMP/hup.db")"
{ "$RUN" --db "$TMP/pipe.db" "$TMP/long.yaml" 2>&1; echo $? > "$TMP/pipe.rc"; } | head -n 1 > /dev/null
[ "$(cat "$TMP/pipe.rc")" = 3 ] && ok "broken pipe on stderr: exit 3" || bad "broken pipe: exit $(cat "$TMP/pipe.rc")"
[ "$(status_of "$TMP/pipe.db")" = interrupted ] && ok "broken pipe: run marked interrupted, not running" \
  || bad "broken pipe: run is $(status_of "$TMP/pipe.db")"

# ---- --runs: a run whose claiming process is gone is stale ----
"$RUN" --quiet --db "$TMP/stale.db" "$TMP/long.yaml" &
pid=$!
sleep 1
kill -9 "$pid"
wait "$pid"
expect_status 0 "--runs after kill -9" "$REPORT" --db "$TMP/stale.db" --runs --format csv
grep -q ',long,stale,' "$TMP/out" && ok "the killed run is listed as stale" || bad "not stale: $(cat "$TMP/out")"
"$RUN" --quiet --db "$TMP/stale.db" "$TMP/long.yaml" &
pid=$!
sleep 1
expect_status 0 "--runs while it runs" "$REPORT" --db "$TMP/stale.db" --runs --format csv
grep -q ',long,running,' "$TMP/out" && ok "a live run is running" || bad "live run: $(cat "$TMP/out")"
kill -TERM "$pid"
wait "$pid"

# ---- the live progress line fits the terminal (tmux): redrawn in place, one summary line per epoch ----
if command -v tmux >/dev/null; then
  cat > "$TMP/bar.yaml" <<YAML
name: a_rather_long_run_name_that_would_never_fit_on_a_narrow_terminal_line
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: {name: aiwae, samples: 2, temperatures: 3, leapfrog: 2}
train: {epochs: 3, batch_size: 8, threads: 1}
evaluate:
  - {estimator: ais_nll, chains: 2, temperatures: 20000, leapfrog: 2, split: test, size: 8, batch: 8}
YAML
  sock="$TMP/tmux.sock"
  tmux -S "$sock" new-session -d -x 64 -y 30 \
    "'$RUN' --db '$TMP/bar.db' '$TMP/bar.yaml'; echo EXIT=\$?; sleep 30" || bad "tmux did not start"
  i=0; live=""
  while [ $i -lt 600 ]; do
    tmux -S "$sock" capture-pane -p > "$TMP/pane" 2>/dev/null
    grep -q "temperature" "$TMP/pane" && live=$(grep "temperature" "$TMP/pane")
    grep -q '^EXIT=' "$TMP/pane" && break
    i=$((i + 1)); sleep 0.1
  done
  tmux -S "$sock" kill-server 2>/dev/null
  grep -q '^EXIT=0' "$TMP/pane" && ok "tmux: the run finished" || bad "tmux: the run did not finish: $(cat "$TMP/pane")"
  long=$(grep -v '^EXIT' "$TMP/pane" | awk 'length($0) > 63' | wc -l)
  [ "$long" -eq 0 ] && ok "tmux: no progress line is wider than the terminal" || bad "tmux: $long lines too wide: $(cat "$TMP/pane")"
  [ "$(grep -c ': epoch [0-9]/3  loss' "$TMP/pane")" -eq 3 ] && ok "tmux: one summary line per epoch" \
    || bad "tmux: epoch lines: $(cat "$TMP/pane")"
  grep -q '^a_ra.*\.\.\..*ne: epoch 1/3' "$TMP/pane" && ok "tmux: the name is cut in the middle" \
    || bad "tmux: name not cut in the middle: $(cat "$TMP/pane")"
  case $live in
    *"ais_nll 0/8 points, temperature "*" of 19999"*"ETA"*) ok "tmux: the evaluation shows temperature t of T ($live)" ;;
    *) bad "tmux: no live evaluation line (saw '$live')" ;;
  esac
  [ "$(grep -c 'ais_nll' "$TMP/pane")" -eq 1 ] && ok "tmux: the evaluation's live line was redrawn in place" \
    || bad "tmux: evaluation lines: $(grep 'ais_nll' "$TMP/pane")"
else
  echo "tmux is not installed: the terminal-width checks are left out (apt-get install tmux)"
fi
finish
