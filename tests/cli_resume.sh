#!/bin/sh
# Kill-and-resume: training and evaluating with kill -9 / SIGTERM at random
# moments must give byte-identical parameters, metrics and evaluation values
# to an uninterrupted run (at a fixed thread count). `make soak` runs it with AIWAE_SOAK_KILLS=100: the
# delays then shrink so that at least that many kill -9s land over one run (training, mid-epoch and
# mid-evaluation checkpoints, the IWAE bound and the AIS evaluation).
. "$(dirname "$0")/cli_common.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 command is not installed (apt-get install sqlite3); it reads the stored values"
make_data || { echo "cannot make data"; exit 1; }
cat > "$TMP/spec.yaml" <<YAML
name: resume
seed: 3
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 4, hidden: [16, 16]}
method: {name: aiwae, samples: 3, temperatures: 4, leapfrog: 3}
train: {epochs: 100, batch_size: 16, learning_rate: 3.0e-3, schedule: constant, checkpoint_every: 3, threads: 2}
evaluate:
  - {estimator: iwae_bound, samples: 64, split: test, batch: 6, every: 25}
  - {estimator: ais_nll, chains: 4, temperatures: 300, leapfrog: 3, split: test, size: 30, batch: 5}
YAML

start=$(date +%s)
t0=$(date +%s%N)
"$RUN" --quiet --db "$TMP/ref.db" "$TMP/spec.yaml"
[ $? -eq 0 ] && ok "uninterrupted run" || bad "uninterrupted run failed"
ref_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "uninterrupted run: $ref_ms ms"
# Kill after a random delay between ref/150 and ref/15 (at least 20 ms), so that
# any build speed gives a couple of dozen kills at all stages of the run.
lo=$(( ref_ms / 150 )); [ "$lo" -lt 20 ] && lo=20
span=$(( ref_ms / 15 - lo )); [ "$span" -lt 20 ] && span=20
soak=${AIWAE_SOAK_KILLS:-0}
if [ "$soak" -gt 0 ]; then
  lo=$(( ref_ms / (4 * soak) )); [ "$lo" -lt 20 ] && lo=20
  span=$(( ref_ms / (2 * soak) )); [ "$span" -lt 20 ] && span=20
fi

# A graceful stop: SIGTERM-like stop after some steps, exit status 3, then resume.
AIWAE_STOP_AFTER_STEPS=7 "$RUN" --quiet --db "$TMP/term.db" "$TMP/spec.yaml"
st=$?
[ $st -eq 3 ] && ok "interrupted run exits with 3" || bad "interrupted run exited with $st, expected 3"

# kill -9 (and sometimes SIGTERM) at random moments until the run finishes.
kills=0; terms=0; rounds=0
seed=${AIWAE_KILL_SEED:-$$}
while :; do
  rounds=$((rounds + 1))
  "$RUN" --quiet --db "$TMP/kill.db" "$TMP/spec.yaml" &
  pid=$!
  seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
  delay=$(( lo + seed % span ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -0 "$pid" 2>/dev/null; then
    if [ $((seed % 5)) -eq 0 ]; then
      kill -TERM "$pid" 2>/dev/null && terms=$((terms + 1))
    else
      kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    fi
  fi
  wait "$pid"
  st=$?
  if [ $st -eq 0 ]; then
    [ "$kills" -ge "$soak" ] && break
    # Finished before the soak's kills: start the killed database over (kills keep counting).
    rm -f "$TMP/kill.db" "$TMP/kill.db-wal" "$TMP/kill.db-shm"
  fi
  if [ $rounds -ge $((400 + 4 * soak)) ]; then bad "run did not finish after $rounds rounds"; break; fi
done
# Finish the SIGTERM-ed run too.
"$RUN" --quiet --db "$TMP/term.db" "$TMP/spec.yaml" || bad "resume after stop failed"
end=$(date +%s)
echo "kill-and-resume: $kills kill -9 and $terms SIGTERM over $rounds starts in $((end - start)) s"
min_kills=${AIWAE_MIN_KILLS:-10}
[ "$soak" -gt "$min_kills" ] && min_kills=$soak
[ "$kills" -ge "$min_kills" ] && ok "survived $kills kill -9 (at least $min_kills)" || bad "only $kills kill -9 happened (at least $min_kills expected): the run is too short for this test"

for db in kill term; do
  "$REPORT" --db "$TMP/ref.db" --export resume -o "$TMP/ref.safetensors" || bad "export failed"
  "$REPORT" --db "$TMP/$db.db" --export resume -o "$TMP/$db.safetensors" || bad "export failed"
  if [ -s "$TMP/ref.safetensors" ] && cmp -s "$TMP/ref.safetensors" "$TMP/$db.safetensors"; then
    ok "$db: final parameters byte-identical"
  else
    bad "$db: final parameters differ"
  fi
  # Every stored number but wall times, to the last bit (%.17g).
  for what in metrics evals; do
    for d in ref $db; do
      case $what in
        metrics) q="SELECT epoch, printf('%.17g %.17g %.17g', loss, bound, lr), accept, step FROM metrics ORDER BY epoch" ;;
        evals) q="SELECT estimator, settings, split, epoch, idx, printf('%.17g', value) FROM eval_points ORDER BY 1, 2, 3, 4, 5" ;;
      esac
      sqlite3 "$TMP/$d.db" "$q" > "$TMP/$d.$what" || bad "sqlite3 query on $d.db failed"
    done
    if [ -s "$TMP/ref.$what" ] && cmp -s "$TMP/ref.$what" "$TMP/$db.$what"; then
      ok "$db: $what identical ($(wc -l < "$TMP/ref.$what") rows)"
    else
      bad "$db: $what differ"; diff "$TMP/ref.$what" "$TMP/$db.$what" | head -n 10
    fi
  done
  st=$(sqlite3 "$TMP/$db.db" "SELECT status FROM runs")
  [ "$st" = finished ] && ok "$db: run finished" || bad "$db: run status $st"
  n=$(sqlite3 "$TMP/$db.db" "SELECT count(*) FROM evaluations WHERE n_done = n_total AND n = n_total")
  [ "$n" -eq 5 ] && ok "$db: all 5 evaluations complete" || bad "$db: $n of 5 evaluations complete"
done
# Running a finished run again does nothing.
out=$("$RUN" --db "$TMP/ref.db" "$TMP/spec.yaml" 2>&1)
case "$out" in *"already finished"*) ok "finished run is skipped" ;; *) bad "finished run not skipped: $out" ;; esac
finish
