#!/usr/bin/env bash
# `retrain backtest` on the real Electricity data (Elec2, 45,312 rows, 336-row weeks) with
# logistic regression and a decision tree (max_depth 8), the 50-policy grid of
# backtest/policies-50.yaml, beside the Python peers (scikit-learn policies, River online LR
# and ADWIN-triggered retraining: /work/shared/peers/river_elec2.py).
#
#   bench/backtest.sh            # = retrain peers tables
#   bench/backtest.sh retrain    # retrain's runs only (RUNS each, default 3)
#   bench/backtest.sh peers      # the peer script once (BLAS 1 thread, like its RESULTS.md)
#   bench/backtest.sh tables     # results/backtest.md from the raw runs
#   bench/backtest.sh delay      # policies-delay.yaml with labels 0 and 2 weeks late (LR) ->
#                                # results/backtest/delay.md
#
# Binary: the bench-fast build (bench/README.md), RETRAIN=... to point elsewhere.
# Raw results: results/backtest/*.json; timings with /usr/bin/time -v and the load average.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results}
OUT=$RESULTS/backtest
WORK=${WORK:-/tmp/retrain-bench/backtest}
RETRAIN=${RETRAIN:-/root/.cache/retrain/bench-target/bench-fast/retrain}
ELEC=${ELEC:-/work/shared/data/elec2.csv}
PEERS=${PEERS:-/work/shared/peers}
PY=${PY:-/tmp/peers/venv/bin/python}
RUNS=${RUNS:-3}
mkdir -p "$OUT" "$WORK"
stages=${*:-retrain peers tables}

repo() {  # repo NAME ALGORITHM PARAMS: an Elec2 repository whose current policy is examples/elec's
  # (triggers and window; no gate, and a blessed candidate is refitted on its whole window,
  # so ungated policies train on whole windows like the peers)
  local dir=$WORK/$1
  rm -rf "$dir"; mkdir -p "$dir/data"
  cp "$ELEC" "$dir/data/elec2.csv"
  cat > "$dir/retrain.yaml" <<YAML
version: 1
models:
  - name: elec
    task: classification
    target: class
    features: [period, nswprice, nswdemand, vicprice, vicdemand, transfer]
    column_types: { class: categorical }
    data: { path: data/elec2.csv }
    triggers:
      schedule: { every: 7d }
      new_data: { min_rows: 1000 }
      drift: { share: 0.5 }
      performance: { metric: accuracy, min: 0.70, max_drop: 0.03 }
      cooldown: 1d
      max_per_period: { count: 4, period: 30d }
    training:
      algorithm: $2
      params: $3
      window: { kind: fixed, last: 4032 }
    evaluation:
      holdout: { kind: time, fraction: 0.2 }
      refit: true
YAML
  echo "$dir"
}

run_retrain() {
  [ -x "$RETRAIN" ] || { echo "missing $RETRAIN: build it (bench/README.md)" >&2; exit 2; }
  git -C "$BENCH_DIR/.." rev-parse --short HEAD > "$OUT/commit.txt"
  for algo in lr dt; do
    case $algo in
      lr) dir=$(repo lr logistic_regression '{}') ;;
      dt) dir=$(repo dt decision_tree '{ max_depth: 8 }') ;;
    esac
    "$RETRAIN" --repo "$dir" snapshot > /dev/null
    for i in $(seq 1 "$RUNS"); do
      echo "== retrain backtest $algo run $i (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      echo "{\"algo\":\"$algo\",\"run\":$i,\"loadavg_before\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"nproc\":$(nproc)}" > "$OUT/${algo}_run$i.meta.json"
      /usr/bin/time -v -o "$OUT/${algo}_run$i.time.txt" \
        "$RETRAIN" --repo "$dir" backtest --policies "$BENCH_DIR/backtest/policies-50.yaml" \
        --output json --chart-dir "$OUT/${algo}_charts" > "$OUT/${algo}_run$i.json"
      echo "   loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      echo "{\"loadavg_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$OUT/${algo}_run$i.meta.json"
    done
  done
}

run_peers() {
  echo "== peers: river_elec2.py (BLAS 1 thread; load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  (cd "$PEERS" && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/time -v -o "$OUT/peers.time.txt" \
    "$PY" river_elec2.py --csv "$ELEC") > "$OUT/peers.json"
  echo "{\"loadavg_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" > "$OUT/peers.meta.json"
}

run_delay() {
  [ -x "$RETRAIN" ] || { echo "missing $RETRAIN: build it (bench/README.md)" >&2; exit 2; }
  dir=$(repo lr-delay logistic_regression '{}')
  "$RETRAIN" --repo "$dir" snapshot > /dev/null
  for d in 0 2; do
    sed "s/LABEL_DELAY/$d/" "$BENCH_DIR/backtest/policies-delay.yaml" > "$WORK/policies-delay-$d.yaml"
    /usr/bin/time -v -o "$OUT/delay_d$d.time.txt" \
      "$RETRAIN" --repo "$dir" backtest --policies "$WORK/policies-delay-$d.yaml" --output json \
      > "$OUT/delay_d$d.json"
  done
  python3 - "$OUT" > "$OUT/delay.md" <<'PY'
import json, sys
out = sys.argv[1]
runs = {d: json.load(open(f"{out}/delay_d{d}.json")) for d in (0, 2)}
def row(report, name):
    for p in report["policies"]:
        if p["name"] == name:
            return p
names = [p["name"] for p in runs[2]["policies"] if not p.get("current")]
print("| policy | labels on time: mean weekly accuracy | retrains | labels 2 weeks late: mean weekly accuracy | retrains |")
print("|---|---|---|---|---|")
for n in names:
    a, b = row(runs[0], n), row(runs[2], n)
    f = lambda p: f"{p['mean_metric']:.4f}" if p.get("mean_metric") is not None else "—"
    print(f"| {n} | {f(a)} | {a['retrains']} | {f(b)} | {b['retrains']} |")
PY
  cat "$OUT/delay.md"
}

for s in $stages; do
  case $s in
    delay) run_delay ;;
    retrain) run_retrain ;;
    peers) run_peers ;;
    tables) python3 "$BENCH_DIR/backtest/tables.py" "$OUT" > "$RESULTS/backtest.md" ;;
    *) echo "unknown stage $s" >&2; exit 2 ;;
  esac
done
