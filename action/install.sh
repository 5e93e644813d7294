#!/usr/bin/env bash
# Installs the retrain binary for this runner into the tool cache and puts it on
# the PATH of the following steps.
#
#   1. Reuse $RUNNER_TOOL_CACHE/retrain/<version>/<arch>/ when its <arch>.complete
#      marker exists (the layout of @actions/tool-cache, so tc.find() sees it too).
#   2. Else download retrain-<version>-<target>.tar.gz and its .sha256 from the
#      release, verify the SHA-256, and install. A wrong checksum fails hard.
#   3. Else (no prebuilt binary for this runner, the release has no such asset, or
#      the prebuilt binary does not run here) build it from the tagged source with
#      `cargo install --locked`.
#
# Environment:
#   RETRAIN_VERSION        X.Y.Z (a leading v is allowed); empty: the VERSION file
#                          beside this script.
#   RETRAIN_REPO           owner/name of the project on GitHub (default below).
#   RETRAIN_DOWNLOAD_BASE  where release assets live: <base>/v<version>/<asset>.
#   RETRAIN_GIT_URL        the repository cargo builds from in the fallback.
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_PATH,
#   GITHUB_OUTPUT          as set by the runner (sensible defaults when unset).
# Output: `path`, the absolute path of the binary, to $GITHUB_OUTPUT.
set -euo pipefail

# The one place that names the project's home; everything else derives from it.
RETRAIN_REPO="${RETRAIN_REPO:-retrain-dev/retrain}"
DOWNLOAD_BASE="${RETRAIN_DOWNLOAD_BASE:-https://github.com/${RETRAIN_REPO}/releases/download}"
GIT_URL="${RETRAIN_GIT_URL:-https://github.com/${RETRAIN_REPO}}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

error() {
  # A workflow command: escape the data as the runner expects (%, CR, LF).
  local msg="$1"
  msg="${msg//'%'/%25}"
  msg="${msg//$'\r'/%0D}"
  msg="${msg//$'\n'/%0A}"
  printf '::error::%s\n' "$msg"
}

warning() {
  local msg="$1"
  msg="${msg//'%'/%25}"
  msg="${msg//$'\r'/%0D}"
  msg="${msg//$'\n'/%0A}"
  printf '::warning::%s\n' "$msg"
}

die() {
  error "$1"
  exit 1
}

# --- version ----------------------------------------------------------------
version="${RETRAIN_VERSION:-}"
if [[ -z "$version" ]]; then
  [[ -r "$here/VERSION" ]] || die "retrain: no version given and no VERSION file at $here/VERSION"
  version="$(tr -d '[:space:]' <"$here/VERSION")"
fi
version="${version#v}"
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  die "retrain: version '$version' is not a version number (X.Y.Z)"
fi

# --- platform -----------------------------------------------------------------
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
# The tool cache's architecture folder uses Node's names, like @actions/tool-cache.
case "$arch" in
  X64 | x86_64 | amd64) cache_arch=x64 ;;
  ARM64 | aarch64 | arm64) cache_arch=arm64 ;;
  *) cache_arch="$(printf '%s' "$arch" | tr '[:upper:]' '[:lower:]')" ;;
esac

# Linux binaries are built for glibc (not musl): polars allocates heavily from many
# threads and musl's allocator is several times slower there; every GitHub-hosted
# Linux runner is glibc. They are built on the oldest supported runner image
# (ubuntu-22.04), so they need glibc >= 2.35. musl systems (Alpine) build from source.
target=""
case "$os/$cache_arch" in
  Linux/x64) target=x86_64-unknown-linux-gnu ;;
  Linux/arm64) target=aarch64-unknown-linux-gnu ;;
  macOS/arm64 | Darwin/arm64) target=aarch64-apple-darwin ;;
esac
if [[ "$target" == *-linux-gnu ]] && compgen -G '/lib/ld-musl-*' >/dev/null; then
  target=""
fi

# --- tool cache ---------------------------------------------------------------
if [[ -z "${RUNNER_TEMP:-}" ]]; then
  RUNNER_TEMP="$(mktemp -d)"
fi
tool_cache="${RUNNER_TOOL_CACHE:-$RUNNER_TEMP/toolcache}"
version_dir="$tool_cache/retrain/$version"
dest="$version_dir/$cache_arch"
marker="$version_dir/$cache_arch.complete"
bin="$dest/bin/retrain"

publish() {
  echo "retrain $version: $bin"
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    printf '%s\n' "$dest/bin" >>"$GITHUB_PATH"
  fi
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf 'path=%s\n' "$bin" >>"$GITHUB_OUTPUT"
  fi
}

# Like @actions/tool-cache: a marker file beside the folder says the folder is whole.
if [[ -f "$marker" && -x "$bin" ]]; then
  echo "retrain $version found in the tool cache"
  publish
  exit 0
fi

work="$(mktemp -d "$RUNNER_TEMP/retrain-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# download URL FILE: 0 when downloaded, 4 when the server says 404, else 1.
download() {
  local url="$1" out="$2" code
  code="$(curl --silent --show-error --location --fail \
    --retry 3 --retry-delay 2 --connect-timeout 10 --max-time 300 \
    --write-out '%{http_code}' --output "$out" "$url")" && return 0
  if [[ "$code" == 404 ]]; then
    return 4
  fi
  error "retrain: downloading $url failed (HTTP ${code:-none})"
  return 1
}

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "retrain: neither sha256sum nor shasum is available to verify the download"
  fi
}

# Start from an empty destination: a folder without its marker is a half install.
fresh_dest() {
  rm -rf "$dest" "$marker"
  mkdir -p "$dest/bin"
}

finish() {
  touch "$marker"
  publish
  exit 0
}

# --- prebuilt binary ----------------------------------------------------------
if [[ -n "$target" ]]; then
  asset="retrain-$version-$target.tar.gz"
  url="$DOWNLOAD_BASE/v$version/$asset"
  echo "Downloading $url"
  status=0
  download "$url" "$work/$asset" || status=$?
  if [[ $status -eq 0 ]]; then
    status=0
    download "$url.sha256" "$work/$asset.sha256" || status=$?
    if [[ $status -ne 0 ]]; then
      die "retrain: the release has $asset but no $asset.sha256 to verify it with; refusing to install an unverified binary"
    fi
    expected="$(tr -s '[:space:]' ' ' <"$work/$asset.sha256" | sed 's/^ //' | cut -d' ' -f1 | tr '[:upper:]' '[:lower:]')"
    actual="$(sha256_of "$work/$asset")"
    if [[ ! "$expected" =~ ^[0-9a-f]{64}$ ]]; then
      die "retrain: $asset.sha256 does not hold a SHA-256 checksum; refusing to install"
    fi
    if [[ "$expected" != "$actual" ]]; then
      die "retrain: checksum mismatch for $asset: expected $expected, got $actual. The download is corrupt or was tampered with; nothing was installed."
    fi
    echo "Checksum OK ($actual)"
    mkdir "$work/x"
    tar -xzf "$work/$asset" -C "$work/x"
    # The binary sits at the top of the archive or in its one top-level folder.
    found=""
    for candidate in "$work/x/retrain" "$work/x"/*/retrain; do
      if [[ -f "$candidate" ]]; then
        found="$candidate"
        break
      fi
    done
    [[ -n "$found" ]] || die "retrain: $asset holds no retrain binary"
    chmod +x "$found"
    if reported="$("$found" --version 2>&1)"; then
      if [[ "$reported" != "retrain $version" ]]; then
        warning "retrain: $asset reports '$reported', expected 'retrain $version'"
      fi
      fresh_dest
      cp "$found" "$bin"
      finish
    fi
    warning "retrain: the prebuilt binary does not run on this runner ($reported); building from source instead"
  elif [[ $status -eq 4 ]]; then
    echo "No prebuilt retrain $version for $target (404); building from source instead"
  else
    exit 1
  fi
else
  echo "No prebuilt retrain binary for $os $arch; building from source instead"
fi

# --- build from source --------------------------------------------------------
if ! command -v cargo >/dev/null; then
  die "retrain: no prebuilt binary fits this runner ($os $arch) and cargo is not installed to build one; install Rust (rustup) in an earlier step"
fi
echo "::group::cargo install retrain $version from $GIT_URL (tag v$version)"
fresh_dest
if ! cargo install --locked --git "$GIT_URL" --tag "v$version" --root "$dest" retrain; then
  echo "::endgroup::"
  rm -rf "$dest"
  die "retrain: cargo install of retrain $version from $GIT_URL failed"
fi
echo "::endgroup::"
rm -f "$dest/.crates.toml" "$dest/.crates2.json"
finish
