#!/usr/bin/env bash
# Benchmark 6: data where teams keep it (issue 17): CSV partitions against one Parquet file,
# incremental snapshots (history of 100 partitions vs 1, one new partition each), and an S3
# source on moto's server (100 objects: cold, unchanged, one new, a fresh checkout).
#   data         the peers' ref_1m (gen_data.py 1m) as one Parquet file and as 100 CSV partitions
#                of 10k rows (pandas to_csv), plus new 10k-row partitions (the peers' cur_1m rows)
#   csv          cold `retrain snapshot` (hash + profile every column, no cache) of the 100 CSV
#                partitions vs the one Parquet file
#   incremental  `snapshot` + `check --reference <history>` after one new partition, with 100
#                partitions of history vs 1 (both with their caches warm, as on a runner that
#                keeps .retrain/cache)
#   s3           the 100 CSV partitions as objects on moto's S3 server (tests/fixtures/s3_server.py,
#                TLS): cold snapshot, unchanged re-snapshot, one new object, a fresh checkout
#                (no .retrain/cache, the manifests kept); object bodies read, from the server's log
#   huge         10M rows as 100 Parquet partitions of 100k (the peers' ref_10m), one new
#                partition per run: `snapshot` + `check --reference <history>`, warm caches
#   tables       bench/results/sources/tables.md
# Usage: bench/sources.sh [data] [csv] [incremental] [huge] [s3] [tables]   (no argument =
#        all but huge)
# Env: RUNS (5), WORK, PY (the peers' venv python), S3_PY (~/.cache/retrain/venv-s3/bin/python)
source "$(dirname "$0")/lib.sh"
OUT=$RESULTS/sources
mkdir -p "$OUT"
PY=${PY:-/tmp/peers/venv/bin/python}
S3_PY=${S3_PY:-$HOME/.cache/retrain/venv-s3/bin/python}
PEERS=${PEERS:-/work/shared/peers}
D=$WORK/sources
FIX=$(cd "$BENCH_DIR/../tests/fixtures" && pwd)
STAGES=${*:-data csv incremental s3 tables}
RUNS_FILE=$OUT/runs.jsonl

config() {  # config DIR SOURCE-LINE
  printf 'version: 1\nmodels:\n  - name: m\n    task: classification\n    target: label\n    column_types: { label: categorical }\n    data: %s\n' "$2" > "$1/retrain.yaml"
}

# timed TAG CMD...: one run under /usr/bin/time; appends {"tag", "wall_s", "rss_mb"} to RUNS_FILE
timed() {
  local tag=$1; shift
  local t; t=$(mktemp)
  $NICE /usr/bin/time -f '%e %M' -o "$t" "$@" > /dev/null
  read -r wall rss < "$t"; rm -f "$t"
  printf '{"tag":"%s","wall_s":%s,"rss_mb":%.0f,"at":"%s"}\n' "$tag" "$wall" "$(echo "$rss / 1024" | bc -l)" "$(date -u +%FT%TZ)" | tee -a "$RUNS_FILE"
}

s3_env() {
  export AWS_ENDPOINT_URL=$1 AWS_ACCESS_KEY_ID=$2 AWS_SECRET_ACCESS_KEY=$3 AWS_REGION=us-east-1 SSL_CERT_FILE=$FIX/tls/ca.pem
}

object_gets() {  # object bodies served since the log was emptied
  grep -c '^GET /lake/' "$1" | tr -d '\n' || true
}

for stage in $STAGES; do
case $stage in
data)
  if [ ! -f "$D/.done" ]; then
    rm -rf "$D"; mkdir -p "$D/gen" "$D/parquet/data" "$D/csv100/data" "$D/new"
    "$PY" "$PEERS/gen_data.py" 1m --no-csv --out "$D/gen" > /dev/null
    "$PY" - "$D" <<'PYEOF'
import sys
import pandas as pd
d = sys.argv[1]
ref = pd.read_parquet(f"{d}/gen/ref_1m.parquet")
ref.to_parquet(f"{d}/parquet/data/ref_1m.parquet", index=False)
for i in range(100):
    ref.iloc[i * 10_000:(i + 1) * 10_000].to_csv(f"{d}/csv100/data/part-{i:03d}.csv", index=False)
cur = pd.read_parquet(f"{d}/gen/cur_1m.parquet")
for i in range(20):
    cur.iloc[i * 10_000:(i + 1) * 10_000].to_csv(f"{d}/new/new-{i:03d}.csv", index=False)
PYEOF
    echo ok > "$D/.done"
  fi
  du -sh "$D/parquet/data" "$D/csv100/data"
  ;;
csv)
  config "$D/parquet" '{ path: "data/*.parquet" }'
  config "$D/csv100" '{ path: "data/*.csv" }'
  for r in $(seq "$RUNS"); do
    for which in parquet csv100; do
      rm -rf "$D/$which/.retrain"
      timed "cold_snapshot_$which" "$RETRAIN" --repo "$D/$which" snapshot
    done
  done
  ;;
incremental)
  # history 100 (the csv100 partitions) vs history 1 (the first of them); each run adds one
  # new partition (a new name each run, so every run is a first sight of it)
  for h in 100 1; do
    R=$D/hist$h; rm -rf "$R"; mkdir -p "$R/data"
    if [ "$h" = 100 ]; then cp "$D"/csv100/data/*.csv "$R/data/"; else cp "$D/csv100/data/part-000.csv" "$R/data/"; fi
    config "$R" '{ path: "data/*.csv" }'
    "$RETRAIN" --repo "$R" snapshot --output json > "$R/history.json"
  done
  # history as on a runner that keeps .retrain/cache: files older than a second (a file
  # changed within a second of its hashing is hashed again), hashed once more so that the
  # stamp cache holds them
  sleep 1.1
  for h in 100 1; do "$RETRAIN" --repo "$D/hist$h" snapshot > /dev/null; done
  for r in $(seq "$RUNS"); do
    for h in 100 1; do
      R=$D/hist$h
      ref=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$R/history.json")
      cp "$D/new/new-$(printf %03d "$r").csv" "$R/data/zz-new-$r.csv"
      timed "incremental_snapshot_history_$h" "$RETRAIN" --repo "$R" snapshot
      timed "incremental_check_history_$h" "$RETRAIN" --repo "$R" check --reference "$ref"
    done
  done
  ;;
huge)
  # 10M rows as 100 Parquet partitions of 100k (the peers' ref_10m), warm caches as on a
  # runner that keeps .retrain/cache; each run adds one new 100k partition (cur_10m rows)
  # and times `snapshot` + `check --reference <history>`
  H=$D/huge
  if [ ! -f "$H/.done" ]; then
    rm -rf "$H"; mkdir -p "$H/gen" "$H/repo/data" "$H/new"
    "$PY" "$PEERS/gen_data.py" 10m --no-csv --out "$H/gen" > /dev/null
    "$PY" - "$H" <<'PYEOF'
import sys
import pyarrow.parquet as pq
h = sys.argv[1]
ref = pq.read_table(f"{h}/gen/ref_10m.parquet")
for i in range(100):
    pq.write_table(ref.slice(i * 100_000, 100_000), f"{h}/repo/data/part-{i:03d}.parquet")
cur = pq.read_table(f"{h}/gen/cur_10m.parquet")
for i in range(10):
    pq.write_table(cur.slice(i * 100_000, 100_000), f"{h}/new/new-{i:03d}.parquet")
PYEOF
    rm -rf "$H/gen"
    echo ok > "$H/.done"
  fi
  rm -f "$H"/repo/data/zz-new-*.parquet; rm -rf "$H/repo/.retrain"
  config "$H/repo" '{ path: "data/*.parquet" }'
  "$RETRAIN" --repo "$H/repo" snapshot --output json > "$H/history.json"
  sleep 1.1; "$RETRAIN" --repo "$H/repo" snapshot > /dev/null
  ref=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$H/history.json")
  for r in $(seq "$RUNS"); do
    cp "$H/new/new-$(printf %03d "$r").parquet" "$H/repo/data/zz-new-$r.parquet"
    timed huge_snapshot_history_100 "$RETRAIN" --repo "$H/repo" snapshot
    timed huge_check_history_100 "$RETRAIN" --repo "$H/repo" check --reference "$ref"
  done
  ;;
s3)
  S=$D/s3; rm -rf "$S"; mkdir -p "$S/repo"
  "$S3_PY" "$FIX/s3_server.py" "$S/port" "$S/log" "$FIX/tls/server.pem" "$FIX/tls/server.key" 2> "$S/server.err" &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null' EXIT
  for _ in $(seq 100); do [ -f "$S/port" ] && break; sleep 0.1; done
  EP=https://127.0.0.1:$(cat "$S/port")
  steps='[["bucket", "lake"]'
  for f in "$D"/csv100/data/*.csv; do steps+=", [\"put\", \"lake\", \"events/$(basename "$f")\", \"$f\"]"; done
  steps+=', ["user"], ["auth"]]'
  read -r KEY SECRET < <("$S3_PY" "$FIX/s3_admin.py" "$EP" "$FIX/tls/ca.pem" "$steps")
  s3_env "$EP" "$KEY" "$SECRET"
  config "$S/repo" '{ url: "s3://lake/events/*.csv" }'
  for r in $(seq "$RUNS"); do
    rm -rf "$S/repo/.retrain"
    : > "$S/log"; timed s3_cold_snapshot "$RETRAIN" --repo "$S/repo" snapshot
    echo "{\"tag\":\"s3_cold_object_gets\",\"n\":$(object_gets "$S/log")}" | tee -a "$RUNS_FILE"
    : > "$S/log"; timed s3_unchanged_snapshot "$RETRAIN" --repo "$S/repo" snapshot
    echo "{\"tag\":\"s3_unchanged_object_gets\",\"n\":$(object_gets "$S/log")}" | tee -a "$RUNS_FILE"
    "$S3_PY" "$FIX/s3_admin.py" "$EP" "$FIX/tls/ca.pem" "[[\"put\", \"lake\", \"events/zz-new-$r.csv\", \"$D/new/new-$(printf %03d "$r").csv\"]]" "$KEY" "$SECRET"
    : > "$S/log"; timed s3_one_new_object_snapshot "$RETRAIN" --repo "$S/repo" snapshot
    echo "{\"tag\":\"s3_one_new_object_gets\",\"n\":$(object_gets "$S/log")}" | tee -a "$RUNS_FILE"
    rm -rf "$S/repo/.retrain/cache"
    : > "$S/log"; timed s3_fresh_checkout_snapshot "$RETRAIN" --repo "$S/repo" snapshot
    echo "{\"tag\":\"s3_fresh_checkout_object_gets\",\"n\":$(object_gets "$S/log")}" | tee -a "$RUNS_FILE"
    "$S3_PY" "$FIX/s3_admin.py" "$EP" "$FIX/tls/ca.pem" "[[\"delete\", \"lake\", \"events/zz-new-$r.csv\"]]" "$KEY" "$SECRET"
  done
  kill $SERVER; trap - EXIT
  ;;
tables)
  "$PY" - "$RUNS_FILE" > "$OUT/tables.md" <<'PYEOF'
import json, statistics, sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[r["tag"]].append(r)
print("| measurement | runs | wall s (median, min–max) | peak RSS MB (max) | object GETs |")
print("|---|---|---|---|---|")
for tag, rs in runs.items():
    if "wall_s" in rs[0]:
        w = [r["wall_s"] for r in rs]
        print(f"| {tag} | {len(rs)} | {statistics.median(w):.2f} ({min(w):.2f}–{max(w):.2f}) | {max(r['rss_mb'] for r in rs):.0f} | |")
    else:
        print(f"| {tag} | {len(rs)} | | | {sorted(set(r['n'] for r in rs))} |")
PYEOF
  cat "$OUT/tables.md"
  ;;
*) echo "unknown stage $stage" >&2; exit 2 ;;
esac
done
