#!/bin/sh
# model.init: a run that starts from a safetensors file (docs/evaluate-your-model.md). An export
# re-imported with train.epochs 0 gives the same parameters and evaluation values; bad files and shapes
# are one-line errors; the file's SHA-256 is in the run's identity; and (when /usr/bin/python3 has torch)
# a model made by PyTorch evaluated here has PyTorch's IWAE bound within Monte Carlo error.
. "$(dirname "$0")/cli_common.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3 to write and read test files"
make_data || { echo "cannot make data"; exit 1; }
DB="$TMP/i.db"
# spec NAME EPOCHS INIT ESTIMATORS...: a tiny run on the 8x8 data, thresholded so that every point is fixed.
spec() {
  name=$1; epochs=$2; init=$3; shift 3
  {
    echo "name: $name"
    echo "dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx, binarize: 0.5}"
    echo "model: {latent: 4, hidden: [16, 16]${init:+, init: $init}}"
    echo "method: {name: vae}"
    echo "train: {epochs: $epochs, batch_size: 20, schedule: constant, threads: 1}"
    echo "evaluate:"
    for e in "$@"; do echo "  - $e"; done
  } > "$TMP/$name.yaml"
}
EVALS='{estimator: iwae_bound, samples: 10}'
UNITS='{estimator: active_units}'
points() { # run estimator: its stored per-point values, to the last bit
  sqlite3 "$DB" "SELECT p.idx, printf('%.17g', p.value) FROM eval_points p JOIN runs r USING (identity)
                 WHERE r.name = '$1' AND p.estimator = '$2' ORDER BY p.idx"
}
data_section() { # safetensors file: the bytes after its header
  "$PY" -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",b[:8])[0]; sys.stdout.buffer.write(b[8+n:])' "$1"
}

# ---- export, re-import with epochs 0 ----
spec a 1 "" "$EVALS" "$UNITS"
expect_status 0 "train a (1 epoch)" "$RUN" --quiet --db "$DB" "$TMP/a.yaml"
expect_status 0 "export a" "$REPORT" --db "$DB" --export a -o "$TMP/a.st"
spec b 0 "$TMP/a.st" "$EVALS" "$UNITS"
expect_status 0 "evaluate a's export (epochs 0)" "$RUN" --db "$DB" "$TMP/b.yaml"
expect_err "evaluating the parameters of model.init" "says it only evaluates"
expect_err "finished (0 epochs)" "trains no epoch"
points a active_units > "$TMP/a.units"; points b active_units > "$TMP/b.units"
[ -s "$TMP/a.units" ] && cmp -s "$TMP/a.units" "$TMP/b.units" && ok "active_units values identical to a's" ||
  bad "active_units of the import differ from a's"
expect_status 0 "--disk" "$REPORT" --db "$DB" --disk --format csv
[ "$(awk -F, '$2 == "b" { print $4, $7 }' "$TMP/out")" = "1 1" ] && ok "an evaluate-only run keeps its initial checkpoint" ||
  bad "--disk for b: $(grep ',b,' "$TMP/out")"
expect_status 0 "export the import (its epoch 0)" "$REPORT" --db "$DB" --export b -o "$TMP/b.st"
data_section "$TMP/a.st" > "$TMP/a.data"; data_section "$TMP/b.st" > "$TMP/b.data"
[ -s "$TMP/a.data" ] && cmp -s "$TMP/a.data" "$TMP/b.data" && ok "parameters byte-identical after the round trip" ||
  bad "the import's parameters differ from the export's"
spec c 0 "$TMP/b.st" "$EVALS" "$UNITS"
expect_status 0 "evaluate the import's export" "$RUN" --quiet --db "$DB" "$TMP/c.yaml"
points b iwae_bound > "$TMP/b.iwae"; points c iwae_bound > "$TMP/c.iwae"
[ "$(wc -l < "$TMP/b.iwae")" -eq 60 ] && cmp -s "$TMP/b.iwae" "$TMP/c.iwae" && ok "iwae_bound values identical (60 points)" ||
  bad "iwae_bound values of two imports of the same parameters differ"

# ---- the file's SHA-256 is in the identity ----
sha=$(sha256sum "$TMP/a.st" | cut -d' ' -f1)
expect_status 0 "--spec b" "$REPORT" --db "$DB" --spec b
expect_out "init_sha256: \"$sha\"" "the canonical spec holds the file's SHA-256"
expect_status 0 "dry run b" "$RUN" --dry-run "$TMP/b.yaml"
id_a=$(grep -m1 identity "$TMP/out")
expect_status 0 "dry run c" "$RUN" --dry-run "$TMP/c.yaml"
[ "$id_a" != "$(grep -m1 identity "$TMP/out")" ] && ok "another file, another identity" || bad "identity ignores the file"
cp "$TMP/a.st" "$TMP/moved.st"
spec b 0 "$TMP/moved.st" "$EVALS" "$UNITS"
expect_status 0 "dry run b from a copy elsewhere" "$RUN" --dry-run "$TMP/b.yaml"
[ "$id_a" = "$(grep -m1 identity "$TMP/out")" ] && ok "the path is not in the identity" || bad "moving the file changed the identity"
spec changed 0 "$TMP/b.st" "$EVALS"
sed -i "s|init: $TMP/b.st|init: $TMP/b.st, init_sha256: $sha|" "$TMP/changed.yaml"
expect_status 1 "a file whose SHA-256 is not the spec's" "$RUN" --quiet --db "$DB" "$TMP/changed.yaml"
expect_err "the file changed since the run was created" "names the changed file"

# ---- trains on from the file ----
spec d 1 "$TMP/a.st" "$EVALS"
expect_status 0 "train 1 epoch on from a's export" "$RUN" --quiet --db "$DB" "$TMP/d.yaml"
n=$(sqlite3 "$DB" "SELECT count(*) FROM metrics JOIN runs USING (identity) WHERE name = 'd' AND metrics.epoch = 1")
[ "$n" -eq 1 ] && ok "d trained its epoch" || bad "d has $n epoch-1 metrics"

# ---- bad input ----
spec e 0 "" "$EVALS"
expect_status 1 "epochs 0 without model.init" "$RUN" --dry-run "$TMP/e.yaml"
expect_err "train.epochs: expected an integer >= 1 (0 only with model.init), found 0" "epochs 0 needs model.init"
spec e 0 "$TMP/none.st" "$EVALS"
expect_status 1 "a missing file" "$RUN" --dry-run "$TMP/e.yaml"
expect_err "model.init: $TMP/none.st: cannot open" "names the missing file"
head -c 300 "$TMP/a.st" > "$TMP/trunc.st"
"$PY" - "$TMP/a.st" "$TMP" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
head, data = json.loads(b[8:8 + n]), b[8 + n:]
def write(name, h, d):
    t = json.dumps(h).encode()
    t += b" " * (-len(t) % 8)
    open(sys.argv[2] + "/" + name, "wb").write(struct.pack("<Q", len(t)) + t + d)
h = dict(head); h["encoder.fc_mu.w"] = h.pop("encoder.fc_mu.weight")
write("names.st", h, data)
h = dict(head); h["extra"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(data), len(data) + 4]}
write("extra.st", h, data + b"\0\0\0\0")
h = json.loads(json.dumps(head)); t = h["decoder.transform.0.bias"]; t["dtype"] = "I32"
write("dtype.st", h, data)
PY
for c in "trunc.st:exceeds the file" "names.st:no tensor encoder.fc_mu.weight" "extra.st:unexpected tensor extra" \
         "dtype.st:tensor decoder.transform.0.bias has dtype I32, expected F32"; do
  f=${c%%:*}; msg=${c#*:}
  spec "bad_${f%.st}" 0 "$TMP/$f" "$EVALS"
  expect_status 1 "bad file $f" "$RUN" --quiet --db "$DB" "$TMP/bad_${f%.st}.yaml"
  expect_err "model.init: $TMP/$f: " "$f: names the file"
  expect_err "$msg" "$f: says what is wrong"
  [ "$(wc -l < "$TMP/err")" -eq 1 ] && ok "$f: one line" || bad "$f: $(wc -l < "$TMP/err") lines"
done
spec shape 0 "$TMP/a.st" "$EVALS"
sed -i 's/latent: 4, hidden: \[16, 16\]/latent: 5, hidden: [16]/' "$TMP/shape.yaml"
expect_status 1 "a file of another shape" "$RUN" --quiet --db "$DB" "$TMP/shape.yaml"
expect_err "holds a model with model.latent 4, model.hidden [16, 16] and 64 pixels; the spec (with its data set) has model.latent 5, model.hidden [16] and 64 pixels" "names both shapes"

# ---- a model made by PyTorch ----
if "$PY" -c 'import torch' > /dev/null 2>&1; then
  "$PY" "$SRC/tests/import_torch.py" make "$TMP/torch.st" 64 4 16,16 || bad "PyTorch could not make its model"
  spec torch 0 "$TMP/torch.st" '{estimator: iwae_bound, samples: 1000}'
  expect_status 0 "evaluate PyTorch's model" "$RUN" --quiet --db "$TMP/torch.db" "$TMP/torch.yaml"
  if "$PY" "$SRC/tests/import_torch.py" check "$TMP/torch.st" "$TMP/test.idx" 0.5 1000 "$TMP/torch.db"; then
    ok "IWAE bound agrees with PyTorch's within Monte Carlo error"
  else
    bad "IWAE bound differs from PyTorch's"
  fi
else
  echo "aiwae-skip: cli_import: PyTorch check: /usr/bin/python3 cannot import torch (apt-get install python3-torch)"
fi
finish
