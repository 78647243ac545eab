#!/bin/sh
# Cluster mode on a real one-node Slurm (tests/slurm_local.sh): a sweep of 4 runs with 2 evaluation shards
# each, submitted with --slurm --wait, must give the tables, per-point values and parameters of a plain
# aiwae-run; a task cancelled mid-training and resubmitted, and one that hits its time limit and requeues,
# must finish with the parameters of an uninterrupted run.
. "$(dirname "$0")/cli_common.sh"
. "$(dirname "$0")/slurm_local.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 command is not installed (apt-get install sqlite3)"
slurm_available || skip "Slurm is not installed or not root (.ci/deps installs slurm-wlm and munge)"
make_data || { echo "cannot make data"; exit 1; }
slurm_start || { echo "cannot start the local Slurm cluster"; tail -3 "$SL"/*.log; exit 1; }
cat > "$TMP/sweep.yaml" <<YAML
name: sweep
seed: 5
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: {name: iwae, samples: 2}
train: {epochs: 2, batch_size: 24, learning_rate: 3.0e-3, schedule: constant, threads: 1}
evaluate:
  - {estimator: iwae_bound, samples: 16, split: test, batch: 10}
  - {estimator: ais_nll, chains: 2, temperatures: 20, leapfrog: 2, split: test, size: 24, batch: 5, shards: 2}
sweep: {method.samples: [1, 2], seed: [5, 6]}
YAML
"$RUN" --quiet --db "$TMP/ref.db" "$TMP/sweep.yaml" || bad "plain run of the sweep failed"
expect_status 0 "--slurm --dry-run prints the scripts" "$RUN" --db "$TMP/c.db" --slurm --dry-run "$TMP/sweep.yaml"
expect_out "#SBATCH --array=0-3" "dry run: a training array of 4 tasks"
expect_out "--dependency=aftercorr:\$JOB1" "dry run: shards wait for their training task"
expect_out "--dependency=afterany:\$JOB1:\$JOB2:\$JOB3" "dry run: the merge job waits for all"
[ ! -e "$TMP/c.db" ] && ok "dry run submits and writes nothing" || bad "dry run created the database"
t0=$(date +%s)
expect_status 0 "--slurm --wait" "$RUN" --db "$TMP/c.db" --slurm --wait --parallel 2 "$TMP/sweep.yaml"
echo "sweep on Slurm: $(( $(date +%s) - t0 )) s"
expect_err "submitted job" "the job ids are printed"
q_points="SELECT identity, estimator, settings, split, epoch, idx, printf('%.17g', value) FROM eval_points ORDER BY 1, 2, 3, 4, 5, 6"
q_evals="SELECT identity, estimator, settings, split, epoch, status, n, printf('%.17g %.17g', mean, stderr) FROM evaluations ORDER BY 1, 2, 3, 4, 5"
for q in "$q_points" "$q_evals"; do
  sqlite3 "$TMP/ref.db" "$q" > "$TMP/ref.q"; sqlite3 "$TMP/c.db" "$q" > "$TMP/c.q"
  [ -s "$TMP/ref.q" ] && cmp -s "$TMP/ref.q" "$TMP/c.q" && ok "byte-identical: $(echo "$q" | cut -c1-60)" ||
    bad "differs from the plain run: $q"
done
for t in elbo nll; do
  "$REPORT" --db "$TMP/ref.db" --table $t --format csv > "$TMP/ref.csv"; "$REPORT" --db "$TMP/c.db" --table $t --format csv > "$TMP/c.csv"
  cmp -s "$TMP/ref.csv" "$TMP/c.csv" && ok "--table $t identical" || bad "--table $t differs: $(diff "$TMP/ref.csv" "$TMP/c.csv" | head -5)"
done
for name in $(sqlite3 "$TMP/ref.db" "SELECT name FROM runs"); do
  "$REPORT" --db "$TMP/ref.db" --export "$name" -o "$TMP/ref.st" && "$REPORT" --db "$TMP/c.db" --export "$name" -o "$TMP/c.st" &&
    cmp -s "$TMP/ref.st" "$TMP/c.st" && ok "$name: exported parameters identical" || bad "$name: exported parameters differ"
done
# The merge is idempotent.
sqlite3 "$TMP/c.db" .dump > "$TMP/dump1"
expect_status 0 "a second merge" "$RUN" --merge --db "$TMP/c.db"
sqlite3 "$TMP/c.db" .dump > "$TMP/dump2"
cmp -s "$TMP/dump1" "$TMP/dump2" && ok "merging again changes nothing" || bad "a second merge changed the database"
expect_status 0 "resubmitting a finished spec" "$RUN" --db "$TMP/c.db" --slurm "$TMP/sweep.yaml"
expect_err "nothing to submit" "a finished spec submits nothing"

# Preemption: a single run long enough to meet its time limit (--time=1 with USR1 45 s before: the signal
# comes 15 to 45 s after the start), cancelled mid-training, then resubmitted; its number of epochs is set
# from this machine's speed so that it trains for about 100 s.
long_spec() {
  cat > "$TMP/long.yaml" <<YAML
name: long
seed: 9
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 4, hidden: [32, 32]}
method: {name: aiwae, samples: 3, temperatures: 4, leapfrog: 4}
train: {epochs: $1, batch_size: 8, learning_rate: 3.0e-3, schedule: constant, checkpoint_every: 5, threads: 1}
evaluate: []
YAML
}
long_spec 10
t0=$(date +%s%N)
"$RUN" --quiet --db "$TMP/calib.db" "$TMP/long.yaml" || bad "calibration run failed"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
epochs=$(( 100000 * 10 / (ms > 1 ? ms : 1) )); [ "$epochs" -lt 20 ] && epochs=20
long_spec "$epochs"
t0=$(date +%s)
"$RUN" --quiet --db "$TMP/long-ref.db" "$TMP/long.yaml" || bad "plain long run failed"
echo "long run, plain: $epochs epochs in $(( $(date +%s) - t0 )) s"
"$REPORT" --db "$TMP/long-ref.db" --export long -o "$TMP/long-ref.st" || bad "export failed"
id=$(sqlite3 "$TMP/long-ref.db" "SELECT identity FROM runs")
limit='--time=1 --signal=B:USR1@55'
t0=$(date +%s)
"$RUN" --quiet --db "$TMP/k.db" --slurm --sbatch="$limit" "$TMP/long.yaml" 2> "$TMP/err" || bad "submitting the long run failed: $(cat "$TMP/err")"
for _ in $(seq 1 600); do
  e=$(sqlite3 "$TMP/k.db.tasks/$id.db" "SELECT max(epoch) FROM metrics" 2>/dev/null)
  [ -n "$e" ] && [ "$e" -ge 2 ] && break
  sleep 0.1
done
scancel -u root
for _ in $(seq 1 100); do [ -z "$(squeue -h)" ] && break; sleep 0.2; done
st=$(sqlite3 "$TMP/k.db.tasks/$id.db" "SELECT status || ' at epoch ' || epoch FROM runs")
case $st in interrupted*) ok "cancelled mid-training ($st)" ;; *) bad "cancelling: the run is $st, expected interrupted" ;; esac
expect_status 0 "resubmitting the cancelled run with --wait ($limit)" "$RUN" --quiet --db "$TMP/k.db" --slurm --wait \
  --sbatch="$limit" "$TMP/long.yaml"
echo "long run on Slurm, cancelled and resubmitted: $(( $(date +%s) - t0 )) s"
n=$(sqlite3 "$TMP/k.db.tasks/$id.db" "SELECT count(*) FROM events WHERE kind = 'task'")
[ "${n:-0}" -ge 3 ] && ok "the task requeued itself at its time limit ($n starts)" ||
  bad "the task was not requeued ($n starts; at least 3 expected)"
"$REPORT" --db "$TMP/k.db" --export long -o "$TMP/k.st" && cmp -s "$TMP/long-ref.st" "$TMP/k.st" &&
  ok "cancelled, resubmitted and requeued: parameters identical" || bad "cancelled, resubmitted and requeued: parameters differ"
finish
