#!/bin/sh
# aiwae-run on the command line: usage, spec errors, dry runs, sweeps,
# skipping finished runs, new replicates and two processes sharing a database.
. "$(dirname "$0")/cli_common.sh"
make_data || { echo "cannot make data"; exit 1; }


expect_status 2 "no arguments is a usage error" "$RUN"
expect_status 2 "unknown option is a usage error" "$RUN" --bogus x.yaml
expect_status 2 "--threads 0 is a usage error" "$RUN" --threads 0 x.yaml
expect_status 0 "--help" "$RUN" --help
grep -q "exit status" "$TMP/out" && ok "--help documents exit statuses" || bad "--help lacks exit statuses"
expect_status 0 "--version" "$RUN" --version
[ "$(head -n 1 "$TMP/out")" = "aiwae-run $(sed -n 's/^AC_INIT(\[aiwae\], \[\([^]]*\)\].*/\1/p' "$AIWAE_SRCDIR/configure.ac")" ] \
  && ok "--version's first line is the version" || bad "--version starts with: $(head -n 1 "$TMP/out")"
for w in "BLAS: OpenBLAS" "threads: OpenMP" "decoder kernels: " "(in use)" "SQLite: 3."; do
  grep -qF "$w" "$TMP/out" && ok "--version names $w" || bad "--version lacks $w: $(cat "$TMP/out")"
done
# No fallback OpenBLAS kernels (below AVX2) on a CPU with AVX2: OpenBLAS picks them for CPUs it does not know.
core=$(sed -n 's/^BLAS: .*(core \([A-Za-z0-9]*\)[:)].*/\1/p; s/^BLAS: OpenBLAS [0-9.]* .* \([A-Za-z0-9]*\) MAX_THREADS.*/\1/p' "$TMP/out" | head -n 1)
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then
  [[ "$core" =~ ^(SkylakeX|Cooperlake|SapphireRapids|Haswell|Zen|Excavator)$ ]] \
    && ok "OpenBLAS runs AVX2 or AVX-512 kernels on this CPU ($core)" || bad "OpenBLAS core '$core' on an AVX2 CPU: $(sed -n 2p "$TMP/out")"
  OPENBLAS_CORETYPE=Nehalem "$RUN" --version | grep -q '^BLAS: .* Nehalem MAX_THREADS' \
    && ok "a caller's OPENBLAS_CORETYPE is kept" || bad "OPENBLAS_CORETYPE=Nehalem was not kept"
else
  echo "aiwae-skip: cli_run: OpenBLAS's kernels against the CPU's: this CPU has no AVX2"
fi
expect_status 0 "--describe" "$RUN" --describe
if cmp -s "$TMP/out" "$AIWAE_SRCDIR/docs/keys.md"; then ok "docs/keys.md is --describe's output"
else bad "docs/keys.md is stale: run make docs ($(diff "$AIWAE_SRCDIR/docs/keys.md" "$TMP/out" | head -n 3 | tr '\n' ' '))"; fi
grep -q '^| `evaluate\[\].step_size.min` | number | `0.0001` |' "$TMP/out" && ok "--describe lists plugin keys with defaults" \
  || bad "--describe lacks evaluate[].step_size.min"
printf '# nothing but a comment\n' > "$TMP/empty.yaml"
expect_status 1 "an empty spec is an error" "$RUN" --dry-run "$TMP/empty.yaml"
expect_err "aiwae-run: error: $TMP/empty.yaml:1:1: empty spec:" "empty spec error names the file"
echo '{}' > "$TMP/defaults.yaml"
expect_status 0 "{} is every default" "$RUN" --dry-run "$TMP/defaults.yaml"
grep -q '^  epochs: 3280$' "$TMP/out" && ok "{} resolves to the paper's run" || bad "{} did not resolve to the defaults"
# Issue 14.10 and 14.8: output that cannot be written is an error; a device is not a database.
if [ -w /dev/full ]; then
  "$RUN" --dry-run "$TMP/defaults.yaml" > /dev/full 2> "$TMP/err"
  [ $? -eq 1 ] && grep -q "cannot write to standard output" "$TMP/err" && ok "--dry-run > /dev/full fails" \
    || bad "--dry-run > /dev/full: $(cat "$TMP/err")"
else
  echo "note: no writable /dev/full; --dry-run's write error is not checked here"
fi
[ -e /dev/null-journal ] && bad "--db /dev/null created /dev/null-journal" || ok "--db /dev/null creates nothing"
expect_status 1 "missing spec file" "$RUN" "$TMP/nope.yaml"
expect_err "aiwae-run: error: $TMP/nope.yaml" "missing spec file is named"

cat > "$TMP/bad.yaml" <<YAML
name: bad
method: {name: iwae, samples: five}
YAML
expect_status 1 "invalid spec" "$RUN" "$TMP/bad.yaml"
expect_err "aiwae-run: error: $TMP/bad.yaml:2:" "spec error names file:line:col"
expect_err "method.samples" "spec error names the key path"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && ok "spec error is one line" || bad "spec error is $(wc -l < "$TMP/err") lines"
expect_status 1 "a misspelt --set key" "$RUN" --dry-run --set model.latnet=5 "$TMP/defaults.yaml"
expect_err "model.latnet: unknown key (expected one of latent, hidden, init, init_sha256); did you mean model.latent?" "--set suggests the nearest key"

cat > "$TMP/tiny.yaml" <<YAML
name: tiny
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: {name: iwae, samples: 2}
train: {epochs: 2, batch_size: 40, threads: 1}
evaluate:
  - {estimator: iwae_bound, samples: 20, split: test, size: 20}
YAML
expect_status 1 "--db /dev/null is an error" "$RUN" --db /dev/null "$TMP/tiny.yaml"
expect_err "/dev/null: not a database file" "--db /dev/null says it is not a file"
expect_status 0 "dry run" "$RUN" --dry-run --db "$TMP/dry.db" --set 'sweep={method.samples: [1, 3], repeat: [0, 1]}' "$TMP/tiny.yaml"
n=$(grep -c '^# identity: [0-9a-f]\{64\}$' "$TMP/out")
[ "$n" -eq 4 ] && ok "sweep of 2x2 resolves to 4 runs" || bad "sweep resolved to $n runs"
[ ! -e "$TMP/dry.db" ] && ok "dry run does not touch the database" || bad "dry run created the database"
ids=$(grep '^# identity:' "$TMP/out" | sort -u | wc -l)
[ "$ids" -eq 4 ] && ok "sweep runs have distinct identities" || bad "sweep identities not distinct"

expect_status 1 "--set with an empty value" "$RUN" --dry-run --set train.epochs= "$TMP/tiny.yaml"
expect_err "aiwae-run: error: --set train.epochs=: expected a value after '=' (write train.epochs=~" "an empty --set value is refused"
expect_status 1 "--set of a swept key" "$RUN" --dry-run --set 'sweep={method.samples: [1, 3]}' --set method.samples=4 "$TMP/tiny.yaml"
expect_err "--set method.samples=4: the spec's sweep also sets method.samples" "a --set the sweep would replace is refused"
expect_status 0 "--set of the sweep's values" "$RUN" --dry-run --set 'sweep={method.samples: [1, 3]}' --set 'sweep.method.samples=[4]' "$TMP/tiny.yaml"
[ "$(grep -c '^# identity:' "$TMP/out")" -eq 1 ] && grep -q '^  samples: 4$' "$TMP/out" && ok "--set sweep.KEY narrows the sweep" \
  || bad "--set sweep.method.samples: $(cat "$TMP/out" "$TMP/err" | head -c 300)"

expect_status 0 "sweep of two runs" "$RUN" --quiet --db "$TMP/r.db" --set 'sweep={method.samples: [1, 3]}' "$TMP/tiny.yaml"
expect_status 0 "rerun of a finished sweep" "$RUN" --db "$TMP/r.db" --set 'sweep={method.samples: [1, 3]}' "$TMP/tiny.yaml"
n=$(grep -c "already finished" "$TMP/err")
[ "$n" -eq 2 ] && ok "finished runs are skipped" || bad "$n of 2 finished runs skipped"
expect_status 0 "a plain run" "$RUN" --quiet --db "$TMP/r.db" "$TMP/tiny.yaml"
expect_status 0 "--fresh starts a new replicate" "$RUN" --quiet --fresh --db "$TMP/r.db" "$TMP/tiny.yaml"
expect_status 0 "the new replicate is listed" "$REPORT" --db "$TMP/r.db" --runs
grep -q "tiny-repeat=1,2,1,finished," "$TMP/out" && ok "--fresh run named with repeat=1 (and --runs shows method.samples, repeat)" || bad "no repeat=1 run in: $(cat "$TMP/out")"

# Evaluations attach to a run: a new evaluate entry for a finished run evaluates its kept final
# checkpoint and trains nothing; the run keeps its identity and its training metrics.
m0=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM metrics")
expect_status 0 "a new evaluation of a finished run" "$RUN" --db "$TMP/r.db" \
  --set 'evaluate=[{estimator: iwae_bound, samples: 20, split: test, size: 20}, {estimator: iwae_bound, samples: 7, size: 10}]' "$TMP/tiny.yaml"
grep -q "iwae_bound at epoch 2" "$TMP/err" && ok "the new entry is evaluated at the last epoch" || bad "no evaluation in: $(cat "$TMP/err")"
grep -q "epoch 1/2" "$TMP/err" && bad "a finished run trained again: $(cat "$TMP/err")" || ok "a finished run trains nothing"
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM metrics")" = "$m0" ] && ok "no training metrics were added" || bad "metrics grew"
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM evaluations WHERE settings LIKE '{samples: 7,%'")" = 1 ] \
  && ok "the new evaluation is stored" || bad "the samples=7 evaluation is missing"
n_runs=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM runs")
expect_status 0 "--evaluate a run named in the database" "$RUN" --db "$TMP/r.db" --evaluate tiny \
  --set 'evaluate=[{estimator: iwae_bound, samples: 9, size: 10}]'
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM evaluations WHERE settings LIKE '{samples: 9,%'")" = 1 ] \
  && ok "--evaluate stores its evaluation" || bad "--evaluate stored nothing: $(cat "$TMP/err")"
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM runs")" = "$n_runs" ] && ok "--evaluate adds no run" || bad "--evaluate added a run"
expect_status 0 "--evaluate of what is done" "$RUN" --db "$TMP/r.db" --evaluate tiny --set 'evaluate=[{estimator: iwae_bound, samples: 9, size: 10}]'
expect_err "already finished" "--evaluate of what is done does nothing"
expect_status 0 "--evaluate over a glob" "$RUN" --db "$TMP/r.db" --evaluate 'tiny-method*' --set 'evaluate=[{estimator: iwae_bound, samples: 5, size: 5}]'
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM evaluations WHERE settings LIKE '{samples: 5,%'")" = 2 ] \
  && ok "a glob evaluates every run it matches" || bad "glob: $(cat "$TMP/err")"
expect_status 0 "--evaluate with active units" "$RUN" --db "$TMP/r.db" --evaluate tiny --set 'evaluate=[{estimator: active_units, size: 40}]'
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM eval_points WHERE estimator = 'active_units'")" = 3 ] \
  && ok "active units stores one variance per latent unit" || bad "active_units values: $(cat "$TMP/err")"
cat "$TMP/out" "$TMP/err" | grep -q 'active_units at epoch [0-9]*: [0-3] units (40 points)$' \
  && ok "the progress line gives active units as a count of units" || bad "active_units line: $(cat "$TMP/out" "$TMP/err")"
# hmc_precision bf16: the run's events say which kernel ran its leapfrog gradients, the one --version names.
bf16=$("$RUN" --version | sed -n 's/^decoder kernels on this CPU: .*, bf16 \([a-z0-9]*\).*/\1/p')
expect_status 0 "--evaluate with bf16 HMC gradients" "$RUN" --db "$TMP/r.db" --evaluate tiny \
  --set 'evaluate=[{estimator: ais_nll, chains: 2, temperatures: 5, leapfrog: 2, size: 4, batch: 2, hmc_precision: bf16}]'
kev=$(sqlite3 "$TMP/r.db" "SELECT message FROM events WHERE kind = 'kernels'")
case "$bf16" in
  none) want="neither AMX nor AVX512-BF16; the leapfrog gradients run in fp32" ;;
  *) want="the leapfrog gradients run on $bf16" ;;
esac
[ -n "$bf16" ] && printf '%s\n' "$kev" | grep -qF "hmc_precision bf16: $want" \
  && ok "the events record the bf16 kernel that ran ($bf16)" || bad "kernels event '$kev', --version's bf16 kernel '$bf16'"
notes=$(sqlite3 "$TMP/r.db" "SELECT message FROM events WHERE kind = 'eval_note' ORDER BY rowid")
for pts in '0\.\.1' '2\.\.3'; do
  printf '%s\n' "$notes" | grep -q "^ais_nll {chains: 2, .*hmc_precision: bf16[^}]*} test epoch 2: points $pts: acceptance [01]\.[0-9]* (mean over 4 temperatures x 4 chains), step size [0-9.e-]* at the last temperature\$" \
    && ok "an AIS evaluation notes the acceptance rate and step size of points $pts" || bad "eval_note for $pts: $notes"
done
[ "$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM events WHERE kind = 'kernels' AND identity NOT IN (SELECT identity FROM runs WHERE name = 'tiny')")" = 0 ] \
  && ok "runs that ask for fp32 log no kernels event" || bad "a kernels event for an fp32 run"
expect_status 0 "--table units" "$REPORT" --db "$TMP/r.db" --table units --format csv
grep -q '^units,iwae,IWAE K=2,2,,,idx,[0-3],' "$TMP/out" && ok "--table units lists the count" || bad "--table units: $(cat "$TMP/out")"
expect_status 1 "--evaluate cannot change the training" "$RUN" --db "$TMP/r.db" --evaluate tiny --set train.epochs=5
expect_err "--evaluate changes evaluations only" "an --evaluate that changes the training is refused"
expect_status 1 "--evaluate of an unknown run" "$RUN" --db "$TMP/r.db" --evaluate nosuchrun
expect_err "no run matches" "the unknown run is named"

# --delete: what goes is listed first; off a terminal it needs --yes; on one it asks (y/N); everything
# recorded for the run goes in one transaction, and nothing of the other runs.
cp "$TMP/r.db" "$TMP/del.db"
rows_of() { # identity -> its rows in every table, summed
  sqlite3 "$TMP/del.db" "SELECT (SELECT count(*) FROM runs WHERE identity='$1') + (SELECT count(*) FROM metrics WHERE identity='$1')
    + (SELECT count(*) FROM checkpoints WHERE identity='$1') + (SELECT count(*) FROM evaluations WHERE identity='$1')
    + (SELECT count(*) FROM eval_points WHERE identity='$1') + (SELECT count(*) FROM events WHERE identity='$1')"
}
id_tiny=$(sqlite3 "$TMP/del.db" "SELECT identity FROM runs WHERE name = 'tiny'")
all_rows=$(sqlite3 "$TMP/del.db" "SELECT (SELECT count(*) FROM metrics) + (SELECT count(*) FROM eval_points)")
expect_status 0 "--delete --dry-run" "$RUN" --db "$TMP/del.db" --dry-run --delete 'tiny-method*'
expect_err "--delete would remove run tiny-method.samples=1 (" "--dry-run lists what --delete would remove"
expect_err "2 epochs of metrics, 2 checkpoints" "and what is recorded for it"
expect_status 2 "--delete off a terminal without --yes" "$RUN" --db "$TMP/del.db" --delete tiny < /dev/null
expect_err "give --yes to delete without asking" "--delete off a terminal says to give --yes"
[ "$(rows_of "$id_tiny")" -gt 0 ] && ok "nothing is deleted without an answer" || bad "tiny was deleted without --yes"
ask_delete() { # answer RUN: aiwae-run --delete RUN on a pseudo-terminal, answering the question
  /usr/bin/python3 - "$1" "$RUN" --db "$TMP/del.db" --delete "$2" <<'PY'
import os, pty, signal, sys
signal.alarm(60)
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
def more():
    global out
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        chunk = b""
    out += chunk
    return chunk != b""
while b"[y/N]" not in out and more():
    pass
if b"[y/N]" in out:
    os.write(fd, (sys.argv[1] + "\n").encode())
while more():
    pass
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 99)
PY
}
if /usr/bin/python3 -c 'import pty' 2> /dev/null; then
  expect_status 1 "--delete answered n on a terminal" ask_delete n tiny
  expect_out "Delete it? [y/N]" "--delete asks on a terminal"
  expect_out "nothing deleted" "and an answer other than y deletes nothing"
  [ "$(rows_of "$id_tiny")" -gt 0 ] && ok "the run is still there" || bad "tiny was deleted after answering n"
  expect_status 0 "--delete answered y on a terminal" ask_delete y tiny
  expect_out "deleted 1 run" "--delete answered y deletes"
  [ "$(rows_of "$id_tiny")" -eq 0 ] && ok "every row of the run is gone" || bad "$(rows_of "$id_tiny") rows of tiny are left"
else
  expect_status 0 "--delete --yes" "$RUN" --db "$TMP/del.db" --delete tiny --yes
  [ "$(rows_of "$id_tiny")" -eq 0 ] && ok "every row of the run is gone" || bad "$(rows_of "$id_tiny") rows of tiny are left"
fi
expect_status 0 "--delete --yes of a glob" "$RUN" --db "$TMP/del.db" --delete 'tiny-method*' --yes
expect_err "deleted 2 runs" "--delete of a glob removes every match"
[ "$(sqlite3 "$TMP/del.db" "SELECT group_concat(name) FROM runs")" = "tiny-repeat=1" ] && ok "and only those" \
  || bad "runs left: $(sqlite3 "$TMP/del.db" "SELECT group_concat(name) FROM runs")"
left=$(sqlite3 "$TMP/del.db" "SELECT (SELECT count(*) FROM metrics) + (SELECT count(*) FROM eval_points)")
[ "$left" -gt 0 ] && [ "$left" -lt "$all_rows" ] && ok "the other run keeps its rows" || bad "rows left: $left of $all_rows"
expect_status 1 "--delete of an unknown run" "$RUN" --db "$TMP/del.db" --delete nosuchrun --yes
expect_err "no run matches \"nosuchrun\"" "--delete of an unknown run says so"
expect_status 2 "--delete with a spec file" "$RUN" --db "$TMP/del.db" --delete tiny-repeat=1 "$TMP/tiny.yaml"
sqlite3 "$TMP/del.db" "UPDATE runs SET status = 'running', message = 'pid $$ on $(hostname)'"
expect_status 2 "--delete of a run a live process holds" "$RUN" --db "$TMP/del.db" --delete tiny-repeat=1 --yes
expect_err "is being run by pid $$" "--delete refuses a run being trained"
[ "$(sqlite3 "$TMP/del.db" "SELECT count(*) FROM runs")" = 1 ] && ok "and deletes nothing" || bad "a held run was deleted"
expect_status 1 "--delete in a missing database" "$RUN" --db "$TMP/none.db" --delete tiny --yes
[ ! -e "$TMP/none.db" ] && ok "--delete does not create a database" || bad "--delete created $TMP/none.db"

# Two processes writing to one database at once.
sed 's/name: tiny/name: p1/' "$TMP/tiny.yaml" > "$TMP/p1.yaml"
sed -e 's/name: tiny/name: p2/' -e 's/samples: 2}/samples: 4}/' "$TMP/tiny.yaml" > "$TMP/p2.yaml"
"$RUN" --quiet --db "$TMP/shared.db" "$TMP/p1.yaml" & a=$!
"$RUN" --quiet --db "$TMP/shared.db" "$TMP/p2.yaml" & b=$!
wait $a; sa=$?; wait $b; sb=$?
[ $sa -eq 0 ] && [ $sb -eq 0 ] && ok "two processes share a database" || bad "concurrent runs exited $sa and $sb"

# Two processes working through the same sweep: each run is trained once.
"$RUN" --db "$TMP/sweep2.db" --set 'sweep={method.samples: [1, 2, 3, 4]}' --set train.epochs=4 "$TMP/tiny.yaml" 2> "$TMP/s1" & a=$!
"$RUN" --db "$TMP/sweep2.db" --set 'sweep={method.samples: [1, 2, 3, 4]}' --set train.epochs=4 "$TMP/tiny.yaml" 2> "$TMP/s2" & b=$!
wait $a; sa=$?; wait $b; sb=$?
[ $sa -eq 0 ] && [ $sb -eq 0 ] && ok "two processes share a sweep" || bad "shared sweep exited $sa and $sb: $(cat "$TMP/s1" "$TMP/s2" | grep error)"
n=$("$REPORT" --db "$TMP/sweep2.db" --runs --format csv | grep -c ',finished,')
[ "$n" -eq 4 ] && ok "all 4 runs of the shared sweep finished" || bad "$n of 4 shared-sweep runs finished"
n=$(cat "$TMP/s1" "$TMP/s2" | grep -c 'starting:')
[ "$n" -eq 4 ] && ok "each run was started once" || bad "runs were started $n times for 4 runs"

# SIGTERM in the middle of a long evaluation chunk stops promptly with status 3.
cat > "$TMP/long.yaml" <<YAML
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: {name: iwae, samples: 2}
train: {epochs: 1, batch_size: 40, threads: 1}
evaluate:
  - {estimator: ais_nll, chains: 4, temperatures: 100000000, leapfrog: 2, split: test, size: 8, batch: 8}
YAML
"$RUN" --quiet --db "$TMP/long.db" "$TMP/long.yaml" & pid=$!
sleep 2
t0=$(date +%s)
kill -TERM $pid
wait $pid; st=$?
t1=$(date +%s)
[ $st -eq 3 ] && ok "SIGTERM during an evaluation exits with 3" || bad "SIGTERM during an evaluation: exit $st"
[ $((t1 - t0)) -le 5 ] && ok "and stops within $((t1 - t0)) s" || bad "took $((t1 - t0)) s to stop"

# A read-only database: one clear line, status 1, nothing changed.
cp "$TMP/r.db" "$TMP/ro.db"
sum_before=$(cksum < "$TMP/ro.db")
expect_status 1 "read-only database" "$RUN" --db "file:$TMP/ro.db?mode=ro" --set train.epochs=3 "$TMP/tiny.yaml"
expect_err "database is read-only" "read-only database is reported"
[ "$(cksum < "$TMP/ro.db")" = "$sum_before" ] && ok "read-only database unchanged" || bad "read-only database changed"

# Data that is not there: one clear line, status 1.
cat > "$TMP/nodata.yaml" <<YAML
dataset: {name: mnist, dir: $TMP/empty}
method: {name: vae}
YAML
mkdir -p "$TMP/empty"
AIWAE_DATA_DIR="$TMP/empty" expect_status 1 "missing data set" "$RUN" --db "$TMP/n.db" "$TMP/nodata.yaml"
expect_err "aiwae-run: error:" "missing data is reported"
expect_err "run 'data/fetch mnist'" "the missing-data error says which data/fetch call fetches it"
[ "$(wc -l < "$TMP/err")" -eq 1 ] && ok "a single run's data error is one line" || bad "data error: $(cat "$TMP/err")"
[ ! -e "$TMP/n.db" ] && ok "a run whose data is missing creates no database" || bad "the database was created"

# data/fetch --for SPEC fetches the datasets the spec's runs name (here from an empty mirror: it fails
# naming the files, after saying which datasets the spec needs).
mkdir -p "$TMP/mirror"
AIWAE_RUN="$RUN" expect_status 1 "data/fetch --for a spec" "$AIWAE_SRCDIR/data/fetch" --from "$TMP/mirror" \
  --dest "$TMP/fetched" --for "$AIWAE_SRCDIR/experiments/paper.yaml"
expect_out "for      $AIWAE_SRCDIR/experiments/paper.yaml: omniglot" "--for finds the spec's datasets"
expect_err "missing  omniglot/chardata.mat: not in the mirror" "--for asks for the files of those datasets"

# Every run's data is checked before any work, and every problem is reported at once.
head -c 500 "$TMP/train.idx" > "$TMP/short.idx"
expect_status 1 "a sweep with missing and damaged data" "$RUN" --db "$TMP/pre.db" \
  --set "sweep={dataset.train_images: [$TMP/train.idx, $TMP/none.idx, $TMP/short.idx]}" "$TMP/tiny.yaml"
expect_err "$TMP/none.idx: cannot open" "the missing file is reported"
expect_err "$TMP/short.idx: offset 16: dimensions 240x8x8 of unsigned byte need 15360 data bytes" \
  "the truncated file is reported from its header and length"
expect_err "2 of 3 runs cannot start; nothing was run" "the check counts the runs that cannot start"
[ "$(wc -l < "$TMP/err")" -eq 3 ] && ok "one line per problem and a count" || bad "check output: $(cat "$TMP/err")"
[ ! -e "$TMP/pre.db" ] && ok "nothing was run" || bad "a run started although the check failed"
expect_status 1 "a check over several runs names them" "$RUN" --db "$TMP/pre.db" \
  --set "sweep={dataset.train_images: [$TMP/none.idx], method.samples: [1, 2]}" "$TMP/tiny.yaml"
expect_err "(runs tiny-dataset.train_images=" "one problem of several runs is printed once with their names"

# A run that fails is recorded as failed and the sweep goes on (fixed binarization of non-binary
# data passes the header check and fails at load); the summary names it and the exit status is 1.
FAILSWEEP="sweep={dataset.binarize: [fixed, dynamic]}"
expect_status 1 "a sweep with a failing run" "$RUN" --db "$TMP/f.db" --set "$FAILSWEEP" "$TMP/tiny.yaml"
expect_err "aiwae-run: error: tiny-dataset.binarize=fixed: " "the failure names its run"
expect_err "aiwae-run: 2 runs: 1 finished; 1 failed: tiny-dataset.binarize=fixed" "the summary names the failed run"
[ "$(sqlite3 "$TMP/f.db" "SELECT status FROM runs WHERE name LIKE '%=dynamic'")" = finished ] \
  && ok "the run after the failed one was trained" || bad "the sweep stopped at the failure"
[ "$(sqlite3 "$TMP/f.db" "SELECT status FROM runs WHERE name LIKE '%=fixed'")" = failed ] \
  && ok "the failed run is recorded as failed" || bad "the failed run's status is not failed"
sqlite3 "$TMP/f.db" "SELECT message FROM events WHERE kind = 'failed'" | grep -q '^inputs [0-9a-f]\{64\}: ' \
  && ok "the failure is logged with its inputs' fingerprint" || bad "no failed event with a fingerprint"
expect_status 1 "a plain rerun" "$RUN" --db "$TMP/f.db" --set "$FAILSWEEP" "$TMP/tiny.yaml"
expect_err "failed before (" "a plain rerun says the run failed before"
expect_err "1 not retried (failed before, unchanged): tiny-dataset.binarize=fixed" "and does not retry it"
[ "$(sqlite3 "$TMP/f.db" "SELECT count(*) FROM events WHERE kind = 'failed'")" = 1 ] \
  && ok "the unchanged failed run was not run again" || bad "the failed run ran again"
expect_status 1 "--retry-failed" "$RUN" --db "$TMP/f.db" --retry-failed --set "$FAILSWEEP" "$TMP/tiny.yaml"
[ "$(sqlite3 "$TMP/f.db" "SELECT count(*) FROM events WHERE kind = 'failed'")" = 2 ] \
  && ok "--retry-failed runs it again" || bad "--retry-failed did not retry: $(cat "$TMP/err")"
touch -d '2001-01-01' "$TMP/train.idx"
expect_status 1 "a rerun after the data changed" "$RUN" --db "$TMP/f.db" --set "$FAILSWEEP" "$TMP/tiny.yaml"
[ "$(sqlite3 "$TMP/f.db" "SELECT count(*) FROM events WHERE kind = 'failed'")" = 3 ] \
  && ok "a failed run whose data changed is retried" || bad "changed data did not retry the run"
expect_status 1 "a rerun after the spec changed" "$RUN" --db "$TMP/f.db" --set "$FAILSWEEP" --set train.threads=2 "$TMP/tiny.yaml"
[ "$(sqlite3 "$TMP/f.db" "SELECT count(*) FROM events WHERE kind = 'failed'")" = 4 ] \
  && ok "a failed run whose spec changed is retried" || bad "a changed spec did not retry the run"
finish
