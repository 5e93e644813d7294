#!/usr/bin/env bash
# Benchmark 8: change detectors (issue 18) — retrain's ADWIN, DDM and Page-Hinkley against
# River 0.26.1's on the same streams, in one run: the change rows must be identical; the
# time is the fastest of 5 passes over the stream inside each process (no start-up).
#   streams  bench/detectors/streams.py: Elec2's real error stream (River's logistic
#            regression, test-then-train, 45,312 rows), its absolute errors, 1M synthetic
#            0/1 errors with ten error-rate regimes
# Output: bench/results/detectors.md (+ detectors.jsonl, one line per run)
# Usage: bench/detectors/run.sh   Env: PY (the peers' venv python), ELEC2, DETECT (the example)
source "$(dirname "$0")/../lib.sh"
PY=${PY:-/tmp/peers/venv/bin/python}
ELEC2=${ELEC2:-/work/shared/data/elec2.csv}
DETECT=${DETECT:-$TARGET/examples/detect}
[ -x "$DETECT" ] || { echo "missing $DETECT: cargo build --profile bench-fast --example detect" >&2; exit 2; }
D=$WORK/detectors
HERE=$BENCH_DIR/detectors
[ -s "$D/synth_1m.txt" ] || "$PY" "$HERE/streams.py" "$ELEC2" "$D"
OUT=$RESULTS/detectors.md
JSONL=$RESULTS/detectors.jsonl
: > "$JSONL"
wait_quiet
for stream in elec2_errors elec2_abs synth_1m; do
  for det in adwin ddm page_hinkley; do
    [ "$stream" = elec2_abs ] && [ "$det" = ddm ] && continue   # DDM takes 0/1 errors only
    ours=$($NICE "$DETECT" "$D/$stream.txt" "$det")
    river=$($NICE "$PY" "$HERE/river_run.py" "$D/$stream.txt" "$det")
    printf '{"stream":"%s","detector":"%s","retrain":%s,"river":%s}\n' "$stream" "$det" "$ours" "$river" >> "$JSONL"
  done
done
"$PY" - "$JSONL" "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
import river
out = ["# Change detectors: retrain vs River %s" % river.__version__, "",
       "`bench/detectors/run.sh`; fastest of 5 passes over the stream, in-process. "
       "Same change rows = every row at which a change was signalled is the same.", "",
       "| stream | rows | detector | changes (retrain / River) | same change rows | retrain ms | River ms | speed-up |",
       "|---|---|---|---|---|---|---|---|"]
for r in rows:
    a, b = r["retrain"], r["river"]
    same = "yes" if a["changes"] == b["changes"] else "NO"
    out.append("| %s | %d | %s | %d / %d | %s | %.2f | %.2f | %.0f× |" % (
        r["stream"], a["rows"], r["detector"], len(a["changes"]), len(b["changes"]), same,
        a["seconds"] * 1e3, b["seconds"] * 1e3, b["seconds"] / max(a["seconds"], 1e-9)))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
if any(r["retrain"]["changes"] != r["river"]["changes"] for r in rows):
    sys.exit("change rows differ")
PY
