#!/usr/bin/env bash
# Benchmark 1: `retrain snapshot`.
#   anchors  hashing throughput on ~1 GB of CSV partitions (warm page cache): retrain snapshot on
#            unchanged data vs b3sum, md5sum, cat
#   dvc      `dvc add` of the same data directory (fresh DVC repo per run; default cache.type, hardlink)
#   hash1    the same on one 1.35 GB Parquet file (prof-10m): retrain vs b3sum
#   profile  snapshot from scratch (hashing + profiling of every column): 1M and 10M rows x 24
#            columns, one Parquet file and 10 partitions; wall time and peak RSS
#   csv      snapshot from scratch of the ~1 GB of CSV partitions
# Usage: bench/snapshot.sh [data] [hash] [profile] [csv] [tables]   (no argument = all, in that order;
#        hash = anchors dvc hash1)
# Env: RUNS (5), CSV_RUNS (3: CSV from scratch), WORK (/tmp/retrain-bench), HASH_ROWS, QUIET_WAIT (600),
#      MAX_OTHER, ATTEMPTS (lib.sh), TARGET (binaries dir).
source "$(dirname "$0")/lib.sh"
OUT=$RESULTS/snapshot
RSS=$OUT/rss
mkdir -p "$OUT" "$RSS"
DVC=${DVC:-/tmp/bench-venv/bin/dvc}
HASH_ROWS=${HASH_ROWS:-4500000}   # ~1 GB of gen-data CSV (24 columns) in 10 partitions
HASH=$WORK/hash                   # retrain repo: retrain.yaml + data/part-000N.csv
DVCREPO=$WORK/dvc                 # DVC repo holding a copy of the same data/ directory
T="/usr/bin/time -f %M -a -o"     # appends each run's peak RSS (KiB), warm-up included
STAGES=${*:-data hash profile csv tables}
STAGES=$(for s in $STAGES; do [ "$s" = hash ] && echo anchors dvc hash1 || echo "$s"; done)

gen() {  # gen DIR ROWS PARTS FORMAT
  local dir=$1 rows=$2 parts=$3 fmt=$4
  if [ -f "$dir/.done" ] && [ "$(cat "$dir/.done")" = "$rows $parts $fmt" ]; then return; fi
  rm -rf "$dir"; mkdir -p "$dir/data"
  nice -n 10 "$GEN" --rows "$rows" --seed 7 --numeric 20 --categorical 2 --partitions "$parts" \
    --format "$fmt" --out "$dir/data" --prefix part
  write_config "$dir" "data/*.$fmt"
  echo "$rows $parts $fmt" > "$dir/.done"
}

files_of() { ls "$1"/data/part*.* ; }
bytes_of() { du -cb $(files_of "$1") | tail -1 | cut -f1; }

for stage in $STAGES; do
case $stage in
data)
  gen "$HASH" "$HASH_ROWS" 10 csv
  gen "$WORK/prof-1m" 1000000 1 parquet
  gen "$WORK/prof-10m" 10000000 1 parquet
  gen "$WORK/prof-1m-p10" 1000000 10 parquet
  gen "$WORK/prof-10m-p10" 10000000 10 parquet
  # DVC works on its own copy of the same files (dvc add rewrites the workspace with hardlinks)
  if ! cmp -s <(cd "$HASH/data" && b3sum part*) <(cd "$DVCREPO/data" 2>/dev/null && b3sum part* 2>/dev/null); then
    rm -rf "$DVCREPO"; mkdir -p "$DVCREPO"; cp -r "$HASH/data" "$DVCREPO/data"
  fi
  for d in "$HASH" "$WORK"/prof-*; do
    printf '{"dir":"%s","files":%s,"bytes":%s}\n' "$(basename "$d")" "$(files_of "$d" | wc -l)" "$(bytes_of "$d")"
  done > "$OUT/data.jsonl"
  cat "$OUT/data.jsonl"
  ;;
anchors)
  FILES=$(files_of "$HASH" | tr '\n' ' ')
  # the snapshot must exist so that the measured runs only hash (status `unchanged`)
  "$RETRAIN" --repo "$HASH" snapshot --output json > "$OUT/hash_first_snapshot.json"
  "$RETRAIN" --repo "$HASH" snapshot --output json | tee "$OUT/hash_unchanged.json"
  grep -q '"status":"unchanged"' "$OUT/hash_unchanged.json"
  rm -f "$RSS"/hash_{cat,b3sum,md5sum,retrain}.txt
  cat $FILES > /dev/null
  measured hash_anchors $NICE hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/hash_anchors.json" \
    -n cat "$T $RSS/hash_cat.txt cat $FILES > /dev/null" \
    -n b3sum "$T $RSS/hash_b3sum.txt b3sum $FILES" \
    -n md5sum "$T $RSS/hash_md5sum.txt md5sum $FILES" \
    -n "retrain snapshot (unchanged)" "$T $RSS/hash_retrain.txt $RETRAIN --repo $HASH snapshot"
  ;;
dvc)
  SITE=$WORK/dvc-site-cache
  for ct in default hardlink; do
    rm -f "$RSS/hash_dvc_$ct.txt"
    PREP="cd $DVCREPO && chmod -R u+w data && rm -rf .git .dvc .dvcignore .gitignore data.dvc $SITE && git init -q && $DVC init -q && $DVC config core.check_update false && $DVC config core.analytics false && $DVC config core.site_cache_dir $SITE"
    [ $ct = hardlink ] && PREP="$PREP && $DVC config cache.type hardlink"
    PREP="$PREP && cat data/* > /dev/null && sync"
    measured "hash_dvc_$ct" $NICE hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/hash_dvc_$ct.json" \
      --prepare "$PREP" \
      -n "dvc add ($ct cache.type)" "cd $DVCREPO && $T $RSS/hash_dvc_$ct.txt $DVC add -q data"
  done
  # the DVC hash is of the same bytes (size in data.dvc = the total of the files)
  (cd "$DVCREPO" && cat data.dvc) > "$OUT/hash_dvc_data.dvc.txt"
  ;;
hash1)
  D=$WORK/prof-10m; F=$(files_of "$D")
  "$RETRAIN" --repo "$D" snapshot --output json | tee "$OUT/hash1_unchanged.json"   # creates it if missing
  "$RETRAIN" --repo "$D" snapshot --output json | grep -q '"status":"unchanged"'
  rm -f "$RSS"/hash1_*.txt
  cat "$F" > /dev/null
  measured hash1 $NICE hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/hash1.json" \
    -n b3sum "$T $RSS/hash1_b3sum.txt b3sum $F" \
    -n "retrain snapshot (unchanged)" "$T $RSS/hash1_retrain.txt $RETRAIN --repo $D snapshot"
  ;;
profile|csv)
  # csv = the ~1 GB of CSV partitions of the hash stages (slow to profile: fewer runs, no warm-up)
  if [ $stage = csv ]; then dirs=hash; else dirs="prof-1m prof-1m-p10 prof-10m prof-10m-p10"; fi
  for d in $dirs; do
    D=$WORK/$d
    runs=$RUNS warmup=1
    [ $d = hash ] && runs=${CSV_RUNS:-3} warmup=0
    rm -f "$RSS/profile_$d.txt"
    cat $(files_of "$D") > /dev/null
    measured "profile_$d" $NICE hyperfine --style basic --warmup $warmup --runs "$runs" --export-json "$OUT/profile_$d.json" \
      --prepare "rm -rf $D/.retrain" \
      -n "retrain snapshot ($d, from scratch)" "$T $RSS/profile_$d.txt $RETRAIN --repo $D snapshot"
    rm -rf "$D/.retrain"
    "$RETRAIN" --repo "$D" snapshot --output json > "$OUT/profile_${d}_output.json"
    cat "$OUT/profile_${d}_output.json"
  done
  ;;
tables)
  python3 "$BENCH_DIR/summarize.py" snapshot "$RESULTS" > "$RESULTS/snapshot_tables.md"
  cat "$RESULTS/snapshot_tables.md"
  ;;
*) echo "unknown stage $stage" >&2; exit 2 ;;
esac
done
