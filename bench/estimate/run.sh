#!/usr/bin/env bash
# CBPE: retrain's estimate on rows without labels against NannyML's and the realized
# accuracy, chunk by chunk (issue 18). One run: the same champion (trained by retrain),
# the same scores (`retrain predict`), NannyML 0.13.1 fitted on the same holdout rows.
#
#   bench/estimate/run.sh            (BIN: the bench-fast build with the `cbpe` and
#                                     `gen-data` examples; NANNY_PY: NannyML's venv)
# Scenarios: covariate shift only (features scaled and moved from chunk to chunk, the
# label's relation to them unchanged) and a concept change half way (CBPE is blind to it).
# Output: bench/results/estimate/{covariate,concept}.{retrain,nannyml}.jsonl and
# bench/results/estimate.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/../results/estimate}
BIN=${BIN:-/root/.cache/retrain/bench-target/bench-fast}
NANNY_PY=${NANNY_PY:-/tmp/nanny-venv/bin/python}
WORK=${WORK:-/tmp/retrain-estimate-bench}
CHUNK=${CHUNK:-5000}
# NannyML 0.13.1 pins its own pandas: a venv of its own, not the peers' one
if ! "$NANNY_PY" -c 'import nannyml, sys; sys.exit(nannyml.__version__ != "0.13.1")' 2>/dev/null; then
  python3 -m venv "$(dirname "$(dirname "$NANNY_PY")")"
  # nannyml 0.13.1 imports statsmodels without requiring it
  "$NANNY_PY" -m pip install -q nannyml==0.13.1 statsmodels==0.15.0 pandas==3.1.2
fi
rm -rf "$WORK" && mkdir -p "$WORK/repo/data" "$OUT"
cd "$WORK/repo"
git init -q
"$BIN/examples/gen-data" --rows 50000 --seed 1 --label-temperature 0.3 --label-noise 0 --format csv --out data --prefix ref >/dev/null
cat > retrain.yaml <<'YAML'
version: 1
models:
  - name: m
    task: classification
    target: label
    time_column: ts
    column_types: { label: categorical }
    data: { path: data/*.csv }
    training: { algorithm: gradient_boosting }
YAML
"$BIN/retrain" --repo . run --dry-run --force --now 2026-06-01T00:00:00Z --artifact-dir "$WORK/out" >/dev/null
cp -r "$WORK/out/m/files/models" .
artifact=models/m/versions/1/model.json
holdout=$(python3 -c "import json; print(json.load(open('$artifact'))['calibration']['rows'])")
# the holdout: the newest $holdout rows of the reference (a time holdout)
"$BIN/retrain" predict --model models/m/registry.yaml --input data/ref.csv --output ref-scored.csv >/dev/null
python3 - "$holdout" <<'PY'
import sys
n = int(sys.argv[1])
lines = open("ref-scored.csv").read().splitlines()
open("holdout.csv", "w").write("\n".join([lines[0]] + lines[-n:]) + "\n")
PY
scenario() {  # scenario NAME DRIFT...
  local name=$1; shift
  local args=()
  for d in "$@"; do args+=(--drift "$d"); done
  "$BIN/examples/gen-data" --rows 50000 --seed 2 --label-temperature 0.3 --label-noise 0 --format csv --out new --prefix "$name" "${args[@]}" >/dev/null
  "$BIN/retrain" predict --model models/m/registry.yaml --input "new/$name.csv" --output "$name-scored.csv" >/dev/null
  "$BIN/examples/cbpe" --artifact "$artifact" --predictions "$name-scored.csv" --chunk "$CHUNK" > "$OUT/$name.retrain.jsonl"
  "$NANNY_PY" "$HERE/nannyml_cbpe.py" holdout.csv "$name-scored.csv" "$CHUNK" 1 > "$OUT/$name.nannyml.jsonl"
}
scenario covariate num_00:scale:0.7@10000 num_01:scale:0.7@15000 num_02:scale:0.5@20000 \
  num_00:scale:0.5@30000 num_03:mean:1@35000 num_01:mean:-1@40000 num_00:scale:0.3@45000
scenario concept concept@25000
python3 - "$OUT" "$holdout" "$("$NANNY_PY" -c 'import nannyml; print(nannyml.__version__)')" <<'PY' > "$OUT/../estimate.md"
import json, sys
out, holdout, version = sys.argv[1], sys.argv[2], sys.argv[3]
cal = json.load(open("models/m/versions/1/model.json"))["calibration"]
print(f"# CBPE: retrain vs NannyML {version} (bench/estimate/run.sh)\n")
print(f"Champion: retrain `gradient_boosting` on 50,000 synthetic rows (seed 1); calibration fitted on its "
      f"{holdout}-row time holdout: error {cal['error_raw']:.4f} raw, {cal['error_calibrated']:.4f} calibrated, "
      f"isotonic map {'kept' if 'isotonic' in cal else 'not kept'}. NannyML fitted on the same holdout rows and scores. "
      "New data: 50,000 rows (seed 2), chunks of 5,000.\n")
for name, title in [("covariate", "Covariate shift only"), ("concept", "Concept change at row 25,000 (CBPE is blind to it)")]:
    r = [json.loads(l) for l in open(f"{out}/{name}.retrain.jsonl")]
    n = [json.loads(l) for l in open(f"{out}/{name}.nannyml.jsonl")]
    print(f"## {title}\n")
    print("| chunk | realized accuracy | retrain estimate (± band) | NannyML estimate | retrain − realized | retrain − NannyML |")
    print("|---|---|---|---|---|---|")
    worst_real = worst_nanny = 0.0
    for a, b in zip(r, n):
        d1 = a["estimated_accuracy"] - a["realized_accuracy"]
        d2 = a["estimated_accuracy"] - b["estimated_accuracy"]
        worst_real, worst_nanny = max(worst_real, abs(d1)), max(worst_nanny, abs(d2))
        print(f"| {a['chunk']} | {a['realized_accuracy']:.4f} | {a['estimated_accuracy']:.4f} ± {a['accuracy_band']:.4f} "
              f"| {b['estimated_accuracy']:.4f} | {d1:+.4f} | {d2:+.5f} |")
    print(f"\nLargest |retrain − realized|: {worst_real:.4f}; largest |retrain − NannyML|: {worst_nanny:.5f}.\n")
PY
cat "$OUT/../estimate.md"
