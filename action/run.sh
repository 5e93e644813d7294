#!/usr/bin/env bash
# Runs one retrain command from the action's inputs (INPUT_* environment
# variables), in INPUT_WORKING_DIRECTORY, and exits with retrain's exit code
# (0 ok, 1 data problem, 2 usage or configuration error, 3 external failure).
#
# Inputs become arguments through an array: nothing is evaluated, globbed or
# word-split except INPUT_ARGS, which is split on whitespace (quotes are not
# interpreted). The binary writes the step's outputs, summary and annotations.
#
# Compatible with bash 3.2 (macOS runners may run /bin/bash).
set -euo pipefail

escape_data() {
  local s="$1"
  s="${s//'%'/%25}"
  s="${s//$'\r'/%0D}"
  s="${s//$'\n'/%0A}"
  printf '%s' "$s"
}

error() {
  printf '::error::%s\n' "$(escape_data "$1")"
}

usage_error() {
  error "retrain action: $1"
  exit 2
}

# bool VAR NAME VALUE: sets VAR to true or false; the YAML 1.2 core schema
# booleans, like @actions/core's getBooleanInput. Empty means false.
bool() {
  case "$3" in
    true | True | TRUE) printf -v "$1" true ;;
    false | False | FALSE | "") printf -v "$1" false ;;
    *) usage_error "input '$2' must be true or false, got '$3'" ;;
  esac
}

command="${INPUT_COMMAND:-run}"
config="${INPUT_CONFIG:-}"
model="${INPUT_MODEL:-}"
dry_run=false
force=false
bool dry_run dry-run "${INPUT_DRY_RUN:-}"
bool force force "${INPUT_FORCE:-}"
workdir="${INPUT_WORKING_DIRECTORY:-.}"
bin="${RETRAIN_BIN:-}"
[[ -n "$bin" ]] || bin=retrain

# Secrets: the runner masks secrets it passed in, but a key pasted from elsewhere
# (or transformed) may not be; mask every line of the key and the token.
if [[ -n "${RETRAIN_APP_PRIVATE_KEY:-}" ]]; then
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%$'\r'}"
    # The -----BEGIN/END ...----- armour is public and empty lines hide nothing.
    if [[ "$line" =~ [A-Za-z0-9] && "$line" != -----* ]]; then
      printf '::add-mask::%s\n' "$(escape_data "$line")"
    fi
  done <<<"$RETRAIN_APP_PRIVATE_KEY"
fi
if [[ -n "${GITHUB_TOKEN:-}" ]]; then
  printf '::add-mask::%s\n' "$(escape_data "$GITHUB_TOKEN")"
fi
if [[ -n "${RETRAIN_APP_ID:-}" && -z "${RETRAIN_APP_PRIVATE_KEY:-}" ]]; then
  usage_error "app-id is set but private-key is empty (is the secret available to this workflow?)"
fi
if [[ -z "${RETRAIN_APP_ID:-}" && -n "${RETRAIN_APP_PRIVATE_KEY:-}" ]]; then
  usage_error "private-key is set but app-id is empty"
fi

args=()
if [[ -n "$config" ]]; then
  args+=(--config "$config")
fi
case "$command" in
  run)
    args+=(run)
    [[ -z "$model" ]] || args+=(--model "$model")
    [[ "$dry_run" == false ]] || args+=(--dry-run)
    [[ "$force" == false ]] || args+=(--force)
    ;;
  check)
    args+=(check)
    [[ -z "$model" ]] || args+=(--model "$model")
    [[ "$force" == false ]] || args+=(--force)
    if [[ "$dry_run" == true ]]; then
      echo "dry-run has no effect on check (check never pushes or opens PRs)"
    fi
    ;;
  promote)
    [[ "$dry_run" == false ]] || usage_error "dry-run is not supported by promote"
    [[ "$force" == false ]] || usage_error "force is not supported by promote"
    args+=(promote)
    [[ -z "$model" ]] || args+=(--model "$model")
    ;;
  rollback)
    [[ "$force" == false ]] || usage_error "force is not supported by rollback"
    [[ -n "$model" ]] || usage_error "rollback needs the model input"
    args+=(rollback "$model")
    [[ "$dry_run" == false ]] || args+=(--dry-run)
    ;;
  backtest)
    [[ "$force" == false ]] || usage_error "force is not supported by backtest"
    args+=(backtest --apply)
    [[ -z "$model" ]] || args+=(--model "$model")
    [[ "$dry_run" == false ]] || args+=(--dry-run)
    ;;
  *)
    usage_error "unknown command '$command' (expected check, run, promote, rollback or backtest)"
    ;;
esac

extra=()
if [[ -n "${INPUT_ARGS:-}" ]]; then
  # -d '': read every line; read returns 1 at the end of input, which is expected.
  read -r -d '' -a extra <<<"$INPUT_ARGS" || true
fi
args+=(${extra[@]+"${extra[@]}"})

[[ -d "$workdir" ]] || usage_error "working-directory '$workdir' does not exist"
cd -- "$workdir"

# Shell-quoted, so a newline or '::' in an input cannot start a workflow command.
printf '+ retrain'
printf ' %q' "${args[@]}"
printf '\n'

status=0
"$bin" "${args[@]}" || status=$?
case "$status" in
  0) ;;
  1) echo "retrain exited with 1 (a data problem)" ;;
  2) echo "retrain exited with 2 (a usage or configuration error)" ;;
  3) echo "retrain exited with 3 (an external failure: git, GitHub, storage)" ;;
  *) echo "retrain exited with $status" ;;
esac
exit "$status"
