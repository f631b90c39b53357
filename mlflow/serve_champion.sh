#!/usr/bin/env bash
# Serve a registered model with MLflow's own scoring server (FastAPI + uvicorn), on loopback.
#
#   mlflow/serve_champion.sh                 # models:/movie-recommender@champion on :5002
#   mlflow/serve_champion.sh --port 5002 --model models:/movie-recommender/3
#   mlflow/serve_champion.sh --dry-run       # print the command, start nothing
#
# The model is looked up on $MLFLOW_TRACKING_URI (default: the course server, http://127.0.0.1:5001).
# Ask for recommendations: curl -X POST http://127.0.0.1:5002/invocations \
#   -H 'Content-Type: application/json' --data @mlflow/payload.json
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=mlflow/common.sh
source "$here/common.sh"
venv_bin="$(course_env_bin "$here")"
port=5002
model="models:/movie-recommender@champion"
dry_run=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# `mlflow models serve` starts `uvicorn` found on PATH: without the venv's bin it exits with 127.
[[ -d "$venv_bin" ]] && export PATH="$venv_bin:$PATH"
export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-http://127.0.0.1:5001}"

# --env-manager local: use this environment (torch, movierec, ...) as it is. The default,
# virtualenv, would build a fresh one from the model's requirements.txt: minutes, and ~1 GB.
command=(mlflow models serve -m "$model" --env-manager local -h 127.0.0.1 -p "$port")

export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"

if $dry_run; then # the same command, ready to paste
  echo "PATH=$venv_bin:\$PATH MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI" \
    "MLFLOW_DISABLE_TELEMETRY=$MLFLOW_DISABLE_TELEMETRY $(shell_line "${command[@]}")"
  exit 0
fi
echo "serving $model from $MLFLOW_TRACKING_URI on http://127.0.0.1:$port" >&2
exec "${command[@]}"
