#!/bin/sh
# aiwae-report on the command line, over a database that aiwae-run fills with two tiny real runs:
# tables in every format, listings, pictures, the safetensors export, usage and database errors,
# and that the database file is never changed.
. "$(dirname "$0")/cli_common.sh"
make_data || { echo "cannot make data"; exit 1; }

one_line_error() { # description
  if [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q '^aiwae-report: error: ' "$TMP/err"; then ok "$1 is one error line"
  else bad "$1: stderr is not one 'aiwae-report: error:' line: $(head -c 300 "$TMP/err")"; fi
}
magic() { # file -> its first bytes in hex
  od -An -tx1 -N8 "$1" | tr -d ' \n'
}

DB="$TMP/r.db"
for m in iwae aiwae; do
  if [ $m = iwae ]; then meth="{name: iwae, samples: 2}"; else meth="{name: aiwae, samples: 2, temperatures: 3, leapfrog: 2}"; fi
  cat > "$TMP/$m.yaml" <<YAML
name: tiny_$m
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: $meth
train: {epochs: 2, batch_size: 40, checkpoint_every: 1, threads: 1}
evaluate:
  - {estimator: iwae_bound, samples: 20, split: test, size: 20, every: 1}
  - {estimator: ais_nll, chains: 4, temperatures: 5, leapfrog: 2, split: test, size: 8}
YAML
  expect_status 0 "aiwae-run tiny_$m" "$RUN" --quiet --db "$DB" "$TMP/$m.yaml"
done
before=$(cksum < "$DB")

# ---- tables ----
for t in nll elbo; do
  expect_status 0 "--table $t --format md" "$REPORT" --db "$DB" --table $t --format md
  expect_out "| Method" "$t md has a header row"
  expect_out "IWAE K=2" "$t md has the IWAE row"
  expect_out "AIWAE K=2 T=3 L=2" "$t md has the AIWAE row with its settings"
  expect_out "epoch 2; points evaluated:" "$t md states the estimator settings"
  expect_status 0 "--table $t --format csv" "$REPORT" --db "$DB" --table $t --format csv
  expect_out "table,method,label,samples" "$t csv header"
  [ "$(wc -l < "$TMP/out")" -eq 3 ] && ok "$t csv has one record per cell" || bad "$t csv: $(cat "$TMP/out")"
  expect_status 0 "--table $t --format latex" "$REPORT" --db "$DB" --table $t --format latex
  expect_out "\\begin{tabular}{lr}" "$t latex tabular"
  expect_status 0 "--table $t --format json" "$REPORT" --db "$DB" --table $t --format json --reference
  if /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["cells"]) == 2' "$TMP/out" 2>/dev/null
  then ok "$t json parses, two cells"; else bad "$t json: $(head -c 300 "$TMP/out")"; fi
done
expect_status 0 "not a terminal: csv by default" "$REPORT" --db "$DB" --table nll
expect_out "table,method," "default format off a terminal is csv"
expect_status 0 "--where" "$REPORT" --db "$DB" --table elbo --format csv --where method.name=aiwae
[ "$(grep -c ',aiwae,' "$TMP/out")" -eq 1 ] && ! grep -q ',iwae,' "$TMP/out" && ok "--where keeps the AIWAE run only" || bad "--where: $(cat "$TMP/out")"
expect_status 1 "--dataset that no run is on" "$REPORT" --db "$DB" --table elbo --format md --dataset mnist
one_line_error "unknown --dataset"
expect_err "--dataset mnist: no run is on that dataset; the runs' datasets: idx (2 runs)" "unknown --dataset lists the datasets"
expect_status 1 "--where that matches no run" "$REPORT" --db "$DB" --table elbo --where method.samples=7
one_line_error "--where that matches nothing"
expect_err "the runs' values of method.samples: 2 (2 runs)" "--where that matches nothing lists the values"
expect_status 0 "--split train with no evaluations" "$REPORT" --db "$DB" --table elbo --format md --split train
expect_out "No finished iwae_bound evaluations" "an empty table says so"
expect_status 0 "--epoch 1" "$REPORT" --db "$DB" --table elbo --format md --epoch 1
expect_out "epoch 1; points evaluated: 20" "--epoch picks the epoch-1 evaluations"
expect_status 1 "--where with an unknown key" "$REPORT" --db "$DB" --table nll --where model.depth=2
one_line_error "unknown --where key"
expect_status 1 "--where with a misspelt key" "$REPORT" --db "$DB" --table nll --where model.latnet=2
expect_err "no run's resolved spec has the key model.latnet; did you mean model.latent?" "--where suggests the nearest key"
# Issue 14.10: an index past int range matched hidden[0]; an --epoch past long long range was accepted.
"$REPORT" --db "$DB" --table elbo --format csv --where 'model.hidden[4294967296]=8' > "$TMP/out" 2> "$TMP/err"
grep -q ',aiwae,' "$TMP/out" && bad "--where hidden[4294967296] matched hidden[0]" || ok "--where with a huge index matches nothing"
expect_status 2 "--epoch past the integer range is a usage error" "$REPORT" --db "$DB" --table elbo --epoch 99999999999999999999

# ---- paired comparisons: the two real runs evaluated the same 8 test points ----
expect_status 0 "--compare" "$REPORT" --db "$DB" --compare tiny_iwae tiny_aiwae --format csv
n=$(awk -F, 'NR > 1 && $(NF - 6) == 8' "$TMP/out" | wc -l) # the settings field has commas: count from the end
[ "$n" -eq 1 ] && ok "--compare pairs the 8 common points" || bad "--compare: $(cat "$TMP/out")"
# B - A is the mean of the per-point differences, recomputed here from the stored values
want=$(sqlite3 "$DB" "SELECT printf('%.6f', avg(b.value - a.value)) FROM eval_points a JOIN eval_points b USING (estimator, settings, split, epoch, idx) JOIN runs ra ON ra.identity = a.identity JOIN runs rb ON rb.identity = b.identity WHERE ra.name = 'tiny_iwae' AND rb.name = 'tiny_aiwae' AND a.estimator = 'ais_nll'")
got=$(awk -F, 'NR > 1 { printf "%.6f", $(NF - 3) }' "$TMP/out")
[ "$got" = "$want" ] && ok "--compare's B - A is the mean per-point difference ($got)" || bad "--compare B - A $got, expected $want"
expect_status 0 "--compare --table elbo" "$REPORT" --db "$DB" --compare tiny_iwae tiny_aiwae --table elbo --format md
expect_out "Paired ELBO" "--compare takes the table's estimator"
expect_status 2 "--compare needs two runs" "$REPORT" --db "$DB" --compare tiny_iwae
expect_status 0 "--table --baseline" "$REPORT" --db "$DB" --table nll --baseline 'IWAE K=2' --format md
expect_out "Paired NLL against IWAE K=2" "--baseline adds the paired block under the table"
expect_status 1 "--baseline of a label no row has" "$REPORT" --db "$DB" --table nll --baseline 'IWAE K=9'
expect_err "no row of the nll table has that label" "the unknown baseline is named"

# ---- listings ----
expect_status 0 "--runs" "$REPORT" --db "$DB" --runs --format md
expect_out "tiny_aiwae" "--runs lists the AIWAE run"
expect_out "| finished |     2 |   2 |" "--runs shows status and epochs"
expect_status 0 "--runs --watch ends when no run is running" "$REPORT" --db "$DB" --runs --watch=1 --format csv
[ "$(grep -c '^tiny_' "$TMP/out")" -eq 0 ] && [ "$(grep -c 'tiny_aiwae' "$TMP/out")" -eq 1 ] \
  && ok "--watch printed one listing" || bad "--watch output: $(cat "$TMP/out")"
if command -v sqlite3 > /dev/null; then
  cp "$DB" "$TMP/watch.db"
  sqlite3 "$TMP/watch.db" "UPDATE runs SET status = 'running' WHERE name = 'tiny_iwae'"
  "$REPORT" --db "$TMP/watch.db" --runs --watch=1 --format csv > "$TMP/out" 2> "$TMP/err" & wpid=$!
  sleep 3
  sqlite3 "$TMP/watch.db" "UPDATE runs SET status = 'finished' WHERE name = 'tiny_iwae'"
  wait $wpid && ok "--watch ends once the running run ends" || bad "--watch exited with status $?: $(cat "$TMP/err")"
  n=$(grep -c 'tiny_aiwae' "$TMP/out")
  [ "$n" -ge 2 ] && tail -n 3 "$TMP/out" | grep -q 'tiny_iwae,.*finished' && ok "--watch refreshed ($n listings), the last one finished" \
    || bad "--watch printed $n listings: $(tail -n 4 "$TMP/out")"
else
  bad "--watch refreshing: no sqlite3 program to mark a run running (.ci/deps installs it)"
fi
expect_status 2 "--watch without --runs" "$REPORT" --db "$DB" --table nll --watch
expect_status 0 "--disk" "$REPORT" --db "$DB" --disk --format md
expect_out "| tiny_aiwae | finished |           2 | 1 2 " "--disk lists each run's kept checkpoints and their epochs"
expect_status 0 "--disk --format csv" "$REPORT" --db "$DB" --disk --format csv
b=$(sqlite3 "$DB" "SELECT sum(length(blob)) FROM checkpoints c JOIN runs r USING(identity) WHERE r.name = 'tiny_iwae'")
mb=$(awk -v b="$b" 'BEGIN { printf "%.10g", b / 1e6 }')
grep -q "^[0-9a-f]\{64\},tiny_iwae,finished,2,1 2,$mb,2," "$TMP/out" && ok "--disk csv: count, epochs and MB of the stored blobs" \
  || bad "--disk csv lacks tiny_iwae with $mb MB: $(cat "$TMP/out")"
expect_status 0 "--metrics by name" "$REPORT" --db "$DB" --metrics tiny_aiwae --format csv
expect_out "epoch,loss,bound,lr,seconds,points_per_s,accept_1,accept_2,step_1,step_2" "AIWAE metrics have 2 temperatures"
[ "$(wc -l < "$TMP/out")" -eq 3 ] && ok "--metrics: one line per epoch" || bad "--metrics: $(cat "$TMP/out")"
id=$("$REPORT" --db "$DB" --runs --format csv | grep tiny_iwae | cut -c1-8)
expect_status 0 "--metrics by identity prefix" "$REPORT" --db "$DB" --metrics "$id" --format md
expect_out "Metrics of tiny_iwae" "prefix $id names tiny_iwae"
expect_status 1 "unknown run" "$REPORT" --db "$DB" --metrics nosuchrun
one_line_error "unknown run"
expect_err "tiny_iwae" "unknown run lists the candidates"
expect_status 0 "--metrics by a glob that names one run" "$REPORT" --db "$DB" --metrics 'tiny_a*' --format md
expect_out "Metrics of tiny_aiwae" "the glob names tiny_aiwae"
expect_status 1 "--metrics by a glob that names two" "$REPORT" --db "$DB" --metrics 'tiny_*'
one_line_error "ambiguous glob"
expect_err "matches 2 runs and this command takes one" "an ambiguous glob lists the matches"
expect_err "tiny_iwae (finished, epoch 2 of 2)" "and says what each match is"
expect_status 2 "--dataset with --metrics" "$REPORT" --db "$DB" --metrics tiny_iwae --dataset idx
# --runs: filters, and the keys that differ as columns
expect_status 0 "--runs csv" "$REPORT" --db "$DB" --runs --format csv
head -n 1 "$TMP/out" | grep -q '^identity,name,method.name,status,' && ok "--runs shows the key that differs" \
  || bad "--runs columns: $(head -n 1 "$TMP/out")"
expect_status 0 "--runs --where" "$REPORT" --db "$DB" --runs --format csv --where method.name=aiwae
[ "$(wc -l < "$TMP/out")" -eq 2 ] && grep -q ',tiny_aiwae,finished,' "$TMP/out" && ok "--runs --where keeps one run" \
  || bad "--runs --where: $(cat "$TMP/out")"
expect_status 0 "--runs --dataset --status" "$REPORT" --db "$DB" --runs --format csv --dataset idx --status finished
[ "$(wc -l < "$TMP/out")" -eq 3 ] && ok "--runs --dataset idx --status finished lists both runs" || bad "--runs: $(cat "$TMP/out")"
expect_status 0 "--runs --status running" "$REPORT" --db "$DB" --runs --format md --status running
expect_out "has the status asked for" "no running run: the listing says so"
expect_status 1 "--runs --dataset unknown" "$REPORT" --db "$DB" --runs --dataset omniglot
expect_err "the runs' datasets: idx (2 runs)" "--runs with an unknown --dataset lists the datasets"
expect_status 2 "--status bogus" "$REPORT" --db "$DB" --runs --status done
expect_err "expected pending, running, interrupted, failed or finished" "--status lists the words"
# --spec: the stored resolved spec, which aiwae-run reads back to the same run
expect_status 0 "--spec" "$REPORT" --db "$DB" --spec tiny_aiwae
expect_out 'name: "tiny_aiwae"' "--spec prints the run's spec"
cp "$TMP/out" "$TMP/stored.yaml"
stored_id=$(grep "^# identity:" "$TMP/stored.yaml")
expect_status 0 "aiwae-run --dry-run of the printed spec" "$RUN" --dry-run "$TMP/stored.yaml"
[ "$(grep '^# identity:' "$TMP/out")" = "$stored_id" ] && ok "the printed spec has the run's identity" \
  || bad "identity: $(grep '^# identity:' "$TMP/out") vs $stored_id"
expect_status 1 "--spec of an unknown run" "$REPORT" --db "$DB" --spec nosuchrun

# ---- pictures ----
if "$REPORT" --help | grep -q -- --curves && expect_status 0 "--curves png" "$REPORT" --db "$DB" --curves tiny_iwae tiny_aiwae -o "$TMP/c.png"; then
  [ "$(magic "$TMP/c.png")" = "89504e470d0a1a0a" ] && ok "curves PNG signature" || bad "curves file is not a PNG"
  expect_status 0 "--curves svg" "$REPORT" --db "$DB" --curves tiny_aiwae -o "$TMP/c.svg"
  grep -q "<svg" "$TMP/c.svg" && ok "curves SVG" || bad "curves file is not SVG"
  expect_status 0 "--curves of a glob" "$REPORT" --db "$DB" --curves 'tiny_*' tiny_iwae -o "$TMP/g.svg"
  expect_err "(2 runs)" "a glob draws every run it matches, each once"
  expect_status 1 "--curves with an unknown run" "$REPORT" --db "$DB" --curves tiny_iwae nosuchrun -o "$TMP/n.svg"
  one_line_error "--curves with an unknown run"
  expect_status 0 "--samples png" "$REPORT" --db "$DB" --samples tiny_aiwae -o "$TMP/s.png"
  [ "$(magic "$TMP/s.png")" = "89504e470d0a1a0a" ] && ok "samples PNG signature" || bad "samples file is not a PNG"
  expect_status 0 "--samples again, same seed" "$REPORT" --db "$DB" --samples tiny_aiwae -o "$TMP/s0.png"
  cmp -s "$TMP/s.png" "$TMP/s0.png" && ok "--samples: the same seed draws the same picture" || bad "--samples is not reproducible"
  expect_status 0 "--samples --seed 5 --epoch 1" "$REPORT" --db "$DB" --samples tiny_aiwae --seed 5 --epoch 1 -o "$TMP/s5.png"
  expect_err "(epoch 1)" "--samples reports the epoch drawn"
  cmp -s "$TMP/s.png" "$TMP/s5.png" && bad "--seed 5 --epoch 1 drew the default picture" || ok "--seed and --epoch change the picture"
fi
expect_status 2 "--curves without -o" "$REPORT" --db "$DB" --curves tiny_iwae
expect_status 2 "--curves to a .gif" "$REPORT" --db "$DB" --curves tiny_iwae -o "$TMP/c.gif"
one_line_error "picture format"

# ---- export ----
expect_status 0 "--export" "$REPORT" --db "$DB" --export tiny_aiwae -o "$TMP/m.safetensors"
expect_err "epoch 2" "export reports the epoch"
check_st='
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n, = struct.unpack("<Q", b[:8]); h = json.loads(b[8:8 + n]); m = h.pop("__metadata__")
want = {"encoder.transform.0.weight": [8, 64], "encoder.transform.0.bias": [8], "encoder.fc_mu.weight": [3, 8],
        "encoder.fc_mu.bias": [3], "encoder.fc_logsigma.weight": [3, 8], "encoder.fc_logsigma.bias": [3],
        "decoder.transform.0.weight": [8, 3], "decoder.transform.0.bias": [8], "decoder.transform.2.weight": [64, 8],
        "decoder.transform.2.bias": [64]}
assert {k: v["shape"] for k, v in h.items()} == want, h
assert all(v["dtype"] == "F32" for v in h.values())
assert max(v["data_offsets"][1] for v in h.values()) == len(b) - 8 - n
assert m["epoch"] == sys.argv[2] and "tiny_aiwae" in m["spec"] and m["format"] == "pt", m
'
if /usr/bin/python3 -c "$check_st" "$TMP/m.safetensors" 2 2> "$TMP/py"; then ok "export: names, shapes, offsets, metadata"
else bad "export check: $(tail -c 400 "$TMP/py")"; fi
expect_status 0 "--export --epoch 1" "$REPORT" --db "$DB" --export tiny_aiwae --epoch 1 -o "$TMP/m1.safetensors"
/usr/bin/python3 -c "$check_st" "$TMP/m1.safetensors" 1 && ok "export of epoch 1 says so" || bad "export --epoch 1 metadata"
cmp -s "$TMP/m.safetensors" "$TMP/m1.safetensors" && bad "epochs 1 and 2 exported the same parameters" || ok "epochs 1 and 2 differ"
expect_status 1 "--export of an epoch without a checkpoint" "$REPORT" --db "$DB" --export tiny_aiwae --epoch 7 -o "$TMP/m7.safetensors"
one_line_error "missing checkpoint"

# ---- usage ----
expect_status 2 "no command" "$REPORT" --db "$DB"
expect_status 2 "two commands" "$REPORT" --db "$DB" --runs --table nll
expect_status 2 "unknown table" "$REPORT" --db "$DB" --table bogus
expect_status 2 "unknown format" "$REPORT" --db "$DB" --runs --format xml
expect_status 2 "--where without =" "$REPORT" --db "$DB" --table nll --where method.name
expect_status 0 "--help" "$REPORT" --help
expect_out "exit status" "--help documents exit statuses"

# ---- database errors ----
expect_status 1 "missing database" "$REPORT" --db "$TMP/none.db" --runs
one_line_error "missing database"
expect_err "no such database" "missing database is called that"
[ ! -e "$TMP/none.db" ] && ok "a missing database is not created" || bad "aiwae-report created $TMP/none.db"
echo "just text" > "$TMP/text.db"
expect_status 1 "not a database" "$REPORT" --db "$TMP/text.db" --runs
one_line_error "not a database"
cp "$DB" "$TMP/newer.db"
if /usr/bin/python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 99"); c.commit()' "$TMP/newer.db"; then
  expect_status 1 "newer schema" "$REPORT" --db "$TMP/newer.db" --runs
  one_line_error "newer schema"
  expect_err "newer" "newer schema is called that"
fi

[ "$(cksum < "$DB")" = "$before" ] && ok "the database file is unchanged by every command" || bad "aiwae-report changed $DB"
finish
