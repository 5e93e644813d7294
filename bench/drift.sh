#!/usr/bin/env bash
# Benchmark 2: drift detection, retrain vs the Python peers (/work/shared/peers), side by side,
# on the peers' generated data (23 features + label; drift in num_00/04/08/12/16 and cat_50).
#   retrain  (a) `retrain snapshot` of the reference (hash + profile, from scratch)
#            (b) `retrain check --reference <ref id>` after swapping in the current file
#                (hash + profile of the current data + reading its rows + drift tests)
#   peers    Evidently DataDriftPreset (defaults) and the polars+scipy baseline, through the
#            peers' measure.py (whole process under /usr/bin/time -v)
#   compare  per-column verdicts of retrain vs Evidently (bench/compare_drift.py)
# Usage: bench/drift.sh [SIZES...]   sizes: 100k 1m (default both)
# Env: RUNS (5, retrain), PEER_RUNS (3), EV_RUNS (PEER_RUNS; Evidently), EV_ATTEMPTS (1), SKIP_PEERS=1,
#      WORK, QUIET_WAIT, MAX_OTHER, ATTEMPTS (see lib.sh).
source "$(dirname "$0")/lib.sh"
PEERS=${PEERS:-/work/shared/peers}
PY=${PEERS_PY:-/tmp/peers/venv/bin/python}
PEERS_DATA=${PEERS_DATA:-/tmp/peers/data}
export PEERS_DATA
PEER_RUNS=${PEER_RUNS:-3}
EV_RUNS=${EV_RUNS:-$PEER_RUNS}
OUT=$RESULTS/drift
RSS=$OUT/rss
mkdir -p "$OUT" "$RSS"
T="/usr/bin/time -f %M -a -o"
SIZES=${*:-100k 1m}

run_peer() {  # run_peer TAG SIZE RUNS CMD...: the peers' measure.py (fresh output file per attempt)
  local tag=$1 s=$2 n=$3; shift 3
  rm -f "$OUT/peer_${tag}_$s.jsonl"
  (cd /tmp && $NICE "$PY" "$PEERS/measure.py" --runs "$n" --timeout 900 --tag "${tag}_$s" \
    --out "$OUT/peer_${tag}_$s.jsonl" -- "$@")
}

for S in $SIZES; do
  REF=$PEERS_DATA/ref_$S.parquet CUR=$PEERS_DATA/cur_$S.parquet
  if [ ! -f "$REF" ] || [ ! -f "$CUR" ]; then
    (cd /tmp && "$PY" "$PEERS/gen_data.py" "$S" --no-csv --out "$PEERS_DATA")
  fi
  D=$WORK/drift-$S
  SAVED=$WORK/drift-$S.ref-store
  rm -rf "$D" "$SAVED"
  # the label is the target, so the features are the other 23 columns
  write_config "$D" data/part.parquet
  # hard links: the repo's data file *is* the peers' file (same bytes, no copy)
  ln -f "$REF" "$D/data/part.parquet"
  "$RETRAIN" --repo "$D" snapshot --output json > "$OUT/retrain_ref_snapshot_$S.json"
  REF_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT/retrain_ref_snapshot_$S.json")
  cp -r "$D/.retrain" "$SAVED"
  cat "$REF" "$CUR" > /dev/null
  rm -f "$RSS"/retrain_*_$S.txt

  measured "retrain_reference_snapshot_$S" $NICE hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/retrain_ref_$S.json" \
    --prepare "rm -rf $D/.retrain && ln -f $REF $D/data/part.parquet" \
    -n "retrain snapshot (reference, $S)" "$T $RSS/retrain_ref_$S.txt $RETRAIN --repo $D snapshot"

  PREP="rm -rf $D/.retrain && cp -r $SAVED $D/.retrain && ln -f $CUR $D/data/part.parquet"
  measured "retrain_check_$S" $NICE hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/retrain_check_$S.json" \
    --prepare "$PREP" \
    -n "retrain check (current vs reference, $S)" "$T $RSS/retrain_check_$S.txt $RETRAIN --repo $D check --reference $REF_ID --output json"
  # the verdicts (one more run, output kept)
  bash -c "$PREP"
  set +e
  "$RETRAIN" --repo "$D" check --reference "$REF_ID" --output json > "$OUT/retrain_check_output_$S.json"
  echo "retrain check exit code: $?" | tee "$OUT/retrain_check_exit_$S.txt"
  set -e

  if [ "${SKIP_PEERS:-0}" != 1 ]; then
    for tag in scipy_polars evidently; do
      case $tag in
        scipy_polars) cmd=("$PY" "$PEERS/scipy_drift.py" "$S" --engine polars); n=$PEER_RUNS ;;
        evidently) cmd=("$PY" "$PEERS/evidently_drift.py" "$S"); n=$EV_RUNS ;;
      esac
      a=$ATTEMPTS; [ $tag = evidently ] && a=${EV_ATTEMPTS:-1}
      ATTEMPTS=$a measured "${tag}_$S" run_peer "$tag" "$S" "$n" "${cmd[@]}"
    done
  fi
done
python3 "$BENCH_DIR/summarize.py" drift "$RESULTS" > "$RESULTS/drift_tables.md"
cat "$RESULTS/drift_tables.md"
