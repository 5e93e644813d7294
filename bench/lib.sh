# Shared settings for the benchmark scripts (sourced, not run).
# Everything generated lives under $WORK (default /tmp/retrain-bench); results under bench/results.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results}
WORK=${WORK:-/tmp/retrain-bench}
# The binaries: built from a clean clone with the bench-fast profile (see README.md).
TARGET=${TARGET:-/root/.cache/retrain/bench-target/bench-fast}
RETRAIN=${RETRAIN:-$TARGET/retrain}
GEN=${GEN:-$TARGET/examples/gen-data}
RUNS=${RUNS:-5}
# Raised priority for measured commands when root (they then disturb / are disturbed less).
if [ "$(id -u)" = 0 ]; then NICE="nice -n ${NICE_LEVEL:--10}"; else NICE=""; fi
# Before each measured block wait up to QUIET_WAIT s for the machine to be idle.
QUIET_WAIT=${QUIET_WAIT:-600}
export DVC_NO_ANALYTICS=1 PYTHONDONTWRITEBYTECODE=1
mkdir -p "$RESULTS" "$WORK"
for b in "$RETRAIN" "$GEN"; do
  [ -x "$b" ] || { echo "missing $b: build it first (bench/README.md)" >&2; exit 2; }
done

busy_s() {  # machine-wide busy CPU seconds since boot (all cores)
  awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4+$7+$8)/hz; exit}' /proc/stat
}

# wait_quiet: wait until fewer than 0.25 cores are busy over 3 s (at most QUIET_WAIT s).
wait_quiet() {
  local t0=$SECONDS b0 b1 busy
  while :; do
    b0=$(busy_s); sleep 3; b1=$(busy_s)
    busy=$(awk -v a="$b0" -v b="$b1" 'BEGIN{printf "%.2f", (b-a)/3}')
    if awk -v x="$busy" 'BEGIN{exit !(x < 0.25)}' || [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
      echo "$busy"; return
    fi
    sleep 5
  done
}

# measured NAME CMD...: run a measured block (hyperfine / measure.py) when the machine is quiet,
# and record how much CPU *other* processes used meanwhile (machine-wide busy CPU seconds minus
# the CPU of this script's children). When others used more than MAX_OTHER of one core on
# average, the block is run again (at most ATTEMPTS times; the last attempt is kept).
LOAD_LOG=$RESULTS/interference.jsonl
MAX_OTHER=${MAX_OTHER:-0.10}
ATTEMPTS=${ATTEMPTS:-3}
CPU_FILE=$(mktemp)
children_cpu() {  # sets CHILD_CPU: CPU s of this shell's finished children (must not run in a subshell)
  times > "$CPU_FILE"
  CHILD_CPU=$(awk 'NR==2{s=0; for(i=1;i<=2;i++){split($i,a,"m"); sub("s","",a[2]); s+=a[1]*60+a[2]}; print s}' "$CPU_FILE")
}
measured() {
  local name=$1; shift
  local attempt=0 t0 b0 c0 t1 b1 c1 wall other busy waited w0 r0 r1 rc
  while :; do
    attempt=$((attempt + 1))
    w0=$SECONDS; busy=$(wait_quiet); waited=$((SECONDS - w0))
    r0=$(pgrep -c -x rustc || true)
    echo "== $name attempt $attempt (busy cores before: $busy, waited ${waited}s, rustc processes: ${r0:-0})" >&2
    children_cpu; c0=$CHILD_CPU; t0=$(date +%s.%N); b0=$(busy_s)
    set +e; "$@"; rc=$?; set -e
    t1=$(date +%s.%N); b1=$(busy_s); children_cpu; c1=$CHILD_CPU; r1=$(pgrep -c -x rustc || true)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
    other=$(awk -v a="$b0" -v b="$b1" -v c="$c0" -v d="$c1" 'BEGIN{o=(b-a)-(d-c); printf "%.1f", (o<0?0:o)}')
    local retry=0
    if [ "$rc" = 0 ] && awk -v o="$other" -v w="$wall" -v m="$MAX_OTHER" 'BEGIN{exit !(o > m*w)}' && [ "$attempt" -lt "$ATTEMPTS" ]; then retry=1; fi
    printf '{"block":"%s","attempt":%d,"kept":%s,"date":"%s","rc":%s,"busy_cores_before":%s,"waited_s":%s,"rustc_before":%s,"rustc_after":%s,"wall_s":%s,"other_cpu_s":%s}\n' \
      "$name" "$attempt" "$([ $retry = 1 ] && echo false || echo true)" "$(date -u +%FT%TZ)" "$rc" "$busy" "$waited" \
      "${r0:-0}" "${r1:-0}" "$wall" "$other" >> "$LOAD_LOG"
    echo "== $name: ${wall}s, other processes used ${other} CPU s$([ $retry = 1 ] && echo ' -> again')" >&2
    [ "$rc" = 0 ] || return "$rc"
    [ $retry = 1 ] || return 0
  done
}

# The measured build's commit (the clone the binaries were built from).
build_commit() { git -C "${BENCH_SRC:-/tmp/bench-src}" rev-parse --short HEAD 2>/dev/null || echo unknown; }

write_config() {  # write_config DIR GLOB [extra model lines]
  mkdir -p "$1/data"
  cat > "$1/retrain.yaml" <<YAML
version: 1
models:
  - name: m
    task: classification
    target: label
    data:
      path: $2
${3:-}
YAML
}
