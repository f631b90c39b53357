#!/usr/bin/env bash
# Start the course's MLflow tracking server: the UI, the REST API and the artifact store in one.
#
#   mlflow/start_tracking_server.sh              # http://127.0.0.1:5001, state kept in mlflow/
#   mlflow/start_tracking_server.sh --port 5001 --dir ~/mlflow-server
#   mlflow/start_tracking_server.sh --dry-run    # print the command, start nothing
#
# From your laptop, through the course's SSH tunnel (-L 5001:127.0.0.1:5001): http://localhost:5001
# It runs in the foreground (Ctrl-C stops it); it is ready when the log says "Application startup
# complete", 20-30 s on a small VPS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=mlflow/common.sh
source "$here/common.sh"
venv_bin="$(course_env_bin "$here")"
port=5001
dir="$here"
dry_run=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# Absolute paths only: `sqlite:///mlflow.db` is relative to wherever the server happens to start.
dir="$(realpath -m "$dir")"
mlflow_bin="$venv_bin/mlflow"
[[ -x "$mlflow_bin" ]] || mlflow_bin="mlflow" # no course venv: whatever `mlflow` is on PATH

command=(
  "$mlflow_bin" server
  # Runs, metrics and the model registry: one SQLite file (enough for one person's experiments).
  --backend-store-uri "sqlite:///$dir/mlflow.db"
  # Model files and figures: a local folder. The server proxies uploads and downloads
  # (mlflow-artifacts:/ URIs), so clients need only HTTP access to the server, not to this disk.
  --artifacts-destination "$dir/mlartifacts"
  # Loopback only: the outside world reaches it through the SSH tunnel, never directly.
  --host 127.0.0.1 --port "$port"
  # One worker: the default of 4 costs ~120 MB each and 2 cores gain nothing from them.
  --workers 1
  # MLflow >= 3.5 checks the Host header (against DNS rebinding). Through the tunnel the browser
  # sends localhost:PORT; scripts on the server send 127.0.0.1:PORT. Nothing else is accepted.
  # (Forwarding a different local port? Add localhost:THAT_PORT here.)
  --allowed-hosts "localhost:$port,127.0.0.1:$port"
)

# MLflow 3 also starts a job runner for its GenAI features (scorers, trace roll-ups): seven extra
# processes of ~240 MB each that ignore Ctrl-C for a while. Tracking and the registry need none.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
# MLflow sends anonymous usage statistics unless told not to; the course server does not.
export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"

if $dry_run; then # the same command, ready to paste
  echo "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=$MLFLOW_SERVER_ENABLE_JOB_EXECUTION" \
    "MLFLOW_DISABLE_TELEMETRY=$MLFLOW_DISABLE_TELEMETRY $(shell_line "${command[@]}")"
  exit 0
fi

mkdir -p "$dir/mlartifacts"
echo "MLflow tracking server: http://127.0.0.1:$port (state in $dir)" >&2
exec "${command[@]}"
