#!/usr/bin/env bash
# Runs every fuzz target of tests/all/fuzz.rs for a fixed time and records the
# executions in bench/results/fuzz.md.
#
#   bash bench/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#
# Targets: retrain.yaml parsing + validation, webhook intake (signature + event),
# PR-body marker, registry pointer, snapshot manifest, CSV and Parquet reading (a whole
# snapshot of the file). Seeds: tests/fuzz/<target>/. A panic fails the run and saves
# the input to $TMPDIR/retrain-fuzz-<target>-crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/retrain/target}"
log=$(mktemp)
status=0
RETRAIN_FUZZ_SECONDS=$seconds cargo test --locked --test all fuzz:: -- --test-threads 1 --nocapture 2>&1 | tee "$log" || status=$?
{
  echo "# Fuzzing (bench/fuzz.sh $seconds)"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, debug build, one target at a time, ${seconds} s each:"
  echo
  echo "| target | inputs | seconds |"
  echo "|---|---|---|"
  grep -o "fuzz [a-z]*: [0-9]* inputs in [0-9.]* s" "$log" | sed 's/^fuzz \([a-z]*\): \([0-9]*\) inputs in \([0-9.]*\) s$/| \1 | \2 | \3 |/'
  echo
  grep -q "test result: ok" "$log" && echo "No panic, no abort." || echo "FAILED: see the run's output."
} > bench/results/fuzz.md
cat bench/results/fuzz.md
exit "$status"
