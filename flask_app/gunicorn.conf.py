"""gunicorn settings for the course's 2-core VPS.

    gunicorn -c flask_app/gunicorn.conf.py "flask_app:create_app()"

Command-line options win over this file, e.g. `-b 127.0.0.1:8000` or `--workers 1`.
"""

import os
import socket
import sys

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

# One line per request on stdout and errors on stderr: systemd's journal collects both.
accesslog = "-"
errorlog = "-"

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
