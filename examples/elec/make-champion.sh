#!/usr/bin/env bash
# Re-creates the example's champion byte for byte: models/elec/ (registry pointer v1,
# model.json, metrics.json, MODEL_CARD.md) and the champion's snapshot manifest in
# .retrain/snapshots/. retrain trains it itself, on the first 100 weeks only
# (data/week-000.csv … week-099.csv); weeks 100–133 are the new data the README's
# first command then checks, scores the champion on, and retrains with.
#
#   bash examples/elec/make-champion.sh        (RETRAIN=path/to/retrain to use a build)
#
# SOURCE_DATE_EPOCH fixes the times retrain records (2026-06-01), so the same retrain
# version gives the same bytes; `git diff --exit-code examples/elec` after it is clean.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
if [[ -n "${RETRAIN:-}" ]]; then
  retrain=("$RETRAIN")
else
  retrain=(cargo run -q --locked --manifest-path "$here/../../Cargo.toml" --)
fi
export SOURCE_DATE_EPOCH=1780272000
now=2026-06-01T00:00:00Z
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp retrain.yaml "$work/"
mkdir "$work/data"
for i in $(seq -f "%03g" 0 99); do
  cp "data/week-$i.csv" "$work/data/"
done
"${retrain[@]}" --repo "$work" run --dry-run --force --now "$now" --artifact-dir "$work/out" >/dev/null
rm -rf models .retrain/snapshots
mkdir -p .retrain/snapshots
cp -r "$work/out/elec/files/models" .
snapshot=$(sed -n 's/^  snapshot: //p' models/elec/registry.yaml | head -1)
cp "$work/.retrain/snapshots/$snapshot.yaml" .retrain/snapshots/
echo "champion: models/elec (v1, snapshot ${snapshot:0:12}), manifest .retrain/snapshots/$snapshot.yaml"
