#!/bin/sh
# aiwae-report --html: one self-contained page over two tiny real runs; in headless Chromium (when
# installed) it renders to a PNG without console errors and its tables hold what --format csv says.
. "$(dirname "$0")/cli_common.sh"
make_data || { echo "cannot make data"; exit 1; }
DB="$TMP/r.db"
for m in iwae aiwae; do
  if [ $m = iwae ]; then meth="{name: iwae, samples: 2}"; else meth="{name: aiwae, samples: 2, temperatures: 3, leapfrog: 2}"; fi
  cat > "$TMP/$m.yaml" <<YAML
name: tiny_$m
dataset: {name: idx, train_images: $TMP/train.idx, test_images: $TMP/test.idx}
model: {latent: 3, hidden: [8]}
method: $meth
train: {epochs: 2, batch_size: 40, threads: 1}
evaluate:
  - {estimator: iwae_bound, samples: 20, split: test, size: 20}
  - {estimator: ais_nll, chains: 4, temperatures: 5, leapfrog: 2, split: test, size: 8}
YAML
  expect_status 0 "aiwae-run tiny_$m" "$RUN" --quiet --db "$DB" "$TMP/$m.yaml"
done
expect_status 2 "--html without -o" "$REPORT" --db "$DB" --html
expect_status 0 "--html" "$REPORT" --db "$DB" --html -o "$TMP/r.html"
P="$TMP/r.html"
grep -q '<!DOCTYPE html>' "$P" && ok "an HTML document" || bad "no doctype"
grep -qi '<script' "$P" && bad "the page has a script" || ok "no scripts"
grep -qiE '(src|href)="(https?:)?//' "$P" && bad "the page fetches from elsewhere" || ok "nothing fetched from elsewhere"
[ "$(grep -c 'src="data:image/svg+xml;base64,' "$P")" -eq 2 ] && ok "one SVG curve picture per run" || bad "curves: $(grep -c 'image/svg' "$P")"
[ "$(grep -c 'src="data:image/png;base64,' "$P")" -eq 2 ] && ok "one sample grid per run" || bad "samples: $(grep -c 'image/png' "$P")"
grep -q 'name="viewport"' "$P" && grep -q '@media print' "$P" && ok "phone viewport and print style" || bad "no viewport / print style"
grep -qF 'AIWAE K=2 T=3 L=2' "$P" && ok "runs labelled by method" || bad "no method label"
grep -qF '{chains: 4, temperatures: 5' "$P" && ok "evaluation settings shown" || bad "no settings"
ls "$TMP" | grep -q part && bad "temporary picture files left behind" || ok "no temporary files left"

CHROME=""
for c in chromium-headless-shell chromium chromium-browser; do command -v "$c" > /dev/null && { CHROME=$c; break; }; done
if [ -z "$CHROME" ]; then
  echo "aiwae-skip: cli_html: browser checks: no chromium (apt-get install chromium-headless-shell)"
  finish
  exit 77
fi
command -v python3 > /dev/null || skip "browser checks: no python3 to compare the tables"
B="$CHROME --headless --no-sandbox --disable-gpu --user-data-dir=$TMP/chrome --enable-logging=stderr --v=0"
timeout 120 $B --window-size=420,3000 --screenshot="$TMP/shot.png" "file://$P" > /dev/null 2> "$TMP/log"
[ "$(od -An -tx1 -N8 "$TMP/shot.png" 2> /dev/null | tr -d ' \n')" = "89504e470d0a1a0a" ] \
  && ok "Chromium renders the page to a PNG" || bad "no screenshot: $(tail -n 3 "$TMP/log")"
grep -q 'CONSOLE' "$TMP/log" && bad "console messages: $(grep CONSOLE "$TMP/log" | head -n 3)" || ok "no console errors"
timeout 120 $B --dump-dom "file://$P" > "$TMP/dom.html" 2> /dev/null
for t in nll elbo; do
  "$REPORT" --db "$DB" --table $t --format csv > "$TMP/$t.csv"
  if python3 - "$TMP/dom.html" "$TMP/$t.csv" <<'PY'
import csv, html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.tables = []; s.cell = None
    def handle_starttag(s, tag, a):
        if tag == "table": s.tables.append([])
        elif tag == "tr": s.tables[-1].append([])
        elif tag in ("td", "th"): s.cell = ""
    def handle_endtag(s, tag):
        if tag in ("td", "th"): s.tables[-1][-1].append(s.cell.strip()); s.cell = None
    def handle_data(s, d):
        if s.cell is not None: s.cell += d
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
recs = list(csv.DictReader(open(sys.argv[2])))
assert recs, "no records"
def matches(t):
    head, cells = t[0], {}
    for row in t[1:]:
        for j in range(1, min(len(row), len(head))):
            cells[(row[0], head[j])] = row[j]
    return all(cells.get((r["label"], r["dataset"]), "").startswith("%.2f" % float(r["mean"])) for r in recs)
assert any(matches(t) for t in p.tables if t), "no table of the page holds the records"
PY
  then ok "the $t table in the browser matches --format csv"; else bad "the $t table differs from --format csv"; fi
done
finish
