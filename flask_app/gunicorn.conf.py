"""gunicorn settings for the course's 2-core VPS.

    gunicorn -c flask_app/gunicorn.conf.py "flask_app:create_app()"

Command-line options win over this file, e.g. `-b 127.0.0.1:8000` or `--workers 1`.
"""

import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

# Loopback only: students reach the API through their SSH tunnel (later a TLS proxy), so the
# port is never open to the internet even if the firewall is misconfigured. $PORT (what
# `make serve PORT=5050` sets) picks another port, e.g. on macOS, where AirPlay holds 5000.
bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"

# The work is CPU-bound numpy, so one worker per core (2 on the VPS); more would only queue on
# the same cores. Sync workers: each handles one request at a time, in well under a millisecond.
workers = os.cpu_count() or 1

# Load the model once in the master, then fork: workers share its memory, and a missing model
# stops start-up with one error instead of every worker failing in turn. A preloaded app is not
# loaded again on HUP, so a *new* model does not come that way: each worker swaps it in itself,
# at its next request after the model link changes (flask_app/served.py), with no restart and no
# request dropped. (A worker gunicorn replaces starts from the preloaded model and catches up.)
preload_app = True

# A request that takes 30 s is stuck: the master kills and replaces that worker.
timeout = 30
graceful_timeout = 10

# One JSON line per request on stdout (flask_app/access_log.py: method, path, status, duration,
# user agent, request id), instead of gunicorn's Apache-style line; errors and their tracebacks
# on stderr. systemd's journal collects both (lecture 8: journalctl and jq).
accesslog = "-"
errorlog = "-"
logger_class = "flask_app.access_log.JsonAccessLogger"

# gunicorn >= 25.1 opens a control socket by default, $XDG_RUNTIME_DIR/gunicorn.ctl (else
# ~/.gunicorn/gunicorn.ctl); two servers under one account would fight over it, and we do not
# use `gunicornc`.
control_socket_disable = True


def on_starting(server) -> None:
    """Say in one line that the port is taken, instead of gunicorn's retries (14 lines)."""
    for address in server.cfg.bind:
        host, _, port = address.rpartition(":")
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                probe.bind((host.strip("[]"), int(port)))
            except OSError as error:
                sys.exit(
                    f"error: cannot listen on {address} ({error.strerror}): another program "
                    "uses that port (on macOS, AirPlay Receiver takes 5000). Stop it, or choose "
                    "another port: make serve PORT=5050"
                )


# --- Prometheus metrics summed over the workers (flask_app/metrics.py, lecture 8) ---------------
# prometheus-client decides when it is first imported whether values live in memory (one process)
# or in files of PROMETHEUS_MULTIPROC_DIR (many): this file runs before the app is imported, so
# the directory is set here. Given one (e.g. in the systemd unit), it is emptied: values left by
# an earlier run would be added to this one's. Otherwise a fresh one is made and removed at exit.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    made_metrics_dir = False
else:
    metrics_dir = Path(tempfile.mkdtemp(prefix="movierec-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    made_metrics_dir = True


def child_exit(server, worker) -> None:
    """A worker died (or was replaced): its "live" gauges must stop counting. Its counters stay,
    as they should: requests it answered were answered."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if made_metrics_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)
