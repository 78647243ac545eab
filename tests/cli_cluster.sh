#!/bin/sh
# Cluster mode without Slurm: tasks run by hand (aiwae-run SPEC --task I [--shard E:K]) into their own files,
# merged with aiwae-run --merge, must give the values of a plain run; the merge is idempotent and names both
# files of a conflict; aiwae-report --runs shows runs that are only in task files.
. "$(dirname "$0")/cli_common.sh"
command -v sqlite3 >/dev/null || skip "the sqlite3 command is not installed (apt-get install sqlite3)"
make_data || { echo "cannot make data"; exit 1; }
cat > "$TMP/spec.yaml" <<YAML
name: cl
seed: 2
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: {name: iwae, samples: 2}
train: {epochs: 2, batch_size: 24, learning_rate: 3.0e-3, schedule: constant, threads: 1}
evaluate:
  - {estimator: iwae_bound, samples: 16, split: test, batch: 10}
  - {estimator: ais_nll, chains: 2, temperatures: 20, leapfrog: 2, split: test, size: 23, batch: 5, shards: 3}
sweep: {seed: [2, 3]}
YAML
"$RUN" --quiet --db "$TMP/ref.db" "$TMP/spec.yaml" || bad "plain run failed"
expect_status 1 "a shard before its run is trained" "$RUN" --quiet --db "$TMP/c.db" --task 0 --shard 1:0 "$TMP/spec.yaml"
expect_err "is not trained yet" "the shard says its run is not trained"
expect_status 2 "--task out of range" "$RUN" --quiet --db "$TMP/c.db" --task 7 "$TMP/spec.yaml"
expect_err "--task 7: the spec has 2 runs" "the error names the task and the runs"
expect_status 2 "--shard of an unsharded entry" "$RUN" --quiet --db "$TMP/c.db" --task 0 --shard 0:0 "$TMP/spec.yaml"
expect_err "has shards: 1" "the error says the entry is not sharded"
expect_status 2 "--wait without --slurm" "$RUN" --db "$TMP/c.db" --wait "$TMP/spec.yaml"
expect_status 2 "--shard 1 without E:K" "$RUN" --db "$TMP/c.db" --task 0 --shard 1x "$TMP/spec.yaml"
for i in 0 1; do
  expect_status 0 "training task $i" "$RUN" --quiet --db "$TMP/c.db" --task $i "$TMP/spec.yaml"
done
[ ! -e "$TMP/c.db" ] && ok "tasks do not write the main database" || bad "a task wrote the main database"
expect_status 0 "merge of the training tasks" "$RUN" --db "$TMP/c.db" --merge
expect_status 0 "--runs before the shards" "$REPORT" --db "$TMP/c.db" --runs --format csv
expect_out "finished" "--runs lists the merged runs"
for i in 0 1; do for k in 0 1 2; do
  expect_status 0 "task $i shard $k" "$RUN" --quiet --db "$TMP/c.db" --task $i --shard 1:$k "$TMP/spec.yaml"
done; done
expect_status 0 "a done shard again" "$RUN" --db "$TMP/c.db" --task 0 --shard 1:2 "$TMP/spec.yaml"
[ "$(for f in "$TMP/c.db.tasks/"*of3.db; do sqlite3 "$f" "SELECT count(*) FROM checkpoints"; done | sort -u)" = 0 ] &&
  ok "done shards drop their checkpoint copy" || bad "a done shard keeps a checkpoint"
expect_status 0 "merge of everything" "$RUN" --db "$TMP/c.db" --merge
expect_err "2 evaluations completed" "the sharded evaluations are completed by the merge"
q="SELECT identity, estimator, settings, split, epoch, status, n, printf('%.17g %.17g', mean, stderr) FROM evaluations ORDER BY 1, 2, 3, 4, 5"
qp="SELECT identity, estimator, settings, split, epoch, idx, printf('%.17g', value) FROM eval_points ORDER BY 1, 2, 3, 4, 5, 6"
for qq in "$q" "$qp"; do
  sqlite3 "$TMP/ref.db" "$qq" > "$TMP/a"; sqlite3 "$TMP/c.db" "$qq" > "$TMP/b"
  [ -s "$TMP/a" ] && cmp -s "$TMP/a" "$TMP/b" && ok "identical to the plain run: $(echo "$qq" | cut -c1-50)" || bad "differs: $qq"
done
sqlite3 "$TMP/c.db" .dump > "$TMP/d1"
expect_status 0 "merging again" "$RUN" --db "$TMP/c.db" --merge
sqlite3 "$TMP/c.db" .dump > "$TMP/d2"
cmp -s "$TMP/d1" "$TMP/d2" && ok "the merge is idempotent" || bad "merging again changed the database"
expect_status 0 "--slurm --dry-run of a finished spec" "$RUN" --db "$TMP/c.db" --slurm --dry-run "$TMP/spec.yaml"
expect_out "nothing to submit" "nothing is left to submit"
# A conflict: a copy of one shard's file with one value changed, merged into a new main database.
mkdir -p "$TMP/x.db.tasks"
f=$(ls "$TMP/c.db.tasks/"*.0of3.db | head -1)
cp "$f" "$TMP/x.db.tasks/"
g="$TMP/x.db.tasks/$(basename "$f" .0of3.db).0of4.db"
cp "$f" "$g"
sqlite3 "$g" "UPDATE eval_points SET value = value + 1 WHERE idx = 0"
expect_status 1 "a conflicting task file" "$RUN" --db "$TMP/x.db" --merge
expect_err "$(basename "$g")" "the conflict names the second file"
expect_err "$(basename "$f")" "the conflict names the first file"
expect_err "idx=0" "the conflict names the key"
# Progress from task files alone: a run trained by a task and not merged.
expect_status 0 "a training task of another database" "$RUN" --quiet --db "$TMP/p.db" --task 1 "$TMP/spec.yaml"
"$RUN" --quiet --db "$TMP/p.db" --merge 2>/dev/null && rm "$TMP/p.db" && "$RUN" --quiet --db "$TMP/p.db" --merge &&
  sqlite3 "$TMP/p.db" "DELETE FROM runs" || bad "setting up the progress check failed"
SLURM_JOB_ID=77 SLURM_ARRAY_JOB_ID=70 SLURM_ARRAY_TASK_ID=1 "$RUN" --quiet --db "$TMP/p.db" --task 1 "$TMP/spec.yaml"
expect_status 0 "--runs with a run only in a task file" "$REPORT" --db "$TMP/p.db" --runs
expect_out "cl-seed=3" "--runs shows the task file's run"
expect_out "slurm job 70_1" "--runs shows its job"
finish
