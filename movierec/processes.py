"""Start a server in the background, wait until it is ready, and stop it with everything it started.

The tests, the benchmarks and the grader all run real servers (gunicorn, `flask run`, MLflow,
sshd, ...). Three habits make that reliable on a busy machine:
- wait for a *condition* (the server answers), never for a fixed number of seconds;
- start each server in its own process group, so stopping it also stops its workers;
- keep its output in a log file, and show the end of it when something goes wrong.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path


class ServerError(RuntimeError):
    """A server exited before it was ready, or was not ready in time; the message has its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval=0.1) -> None:
    """Call `condition` until it is true; raise `TimeoutError` naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when `url` answers with HTTP 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port (e.g. a TLS server)."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def log_tail(log: Path, chars: int = 3000) -> str:
    """The end of a log file, or a note that there is none."""
    try:
        return log.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return f"(no log at {log})"


def start(
    command: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.Popen:
    """Start `command` in a new process group, its stdout and stderr appended to `log`."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            list(command),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,  # its own process group: see `stop`
        )


def stop(process: subprocess.Popen, grace: float = 20.0) -> int:
    """Stop a process and every process of its group: SIGTERM, then SIGKILL after `grace` s.

    Returns the process's exit code (negative: the signal that ended it).
    """
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        code = process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        code = process.wait()
    with suppress(ProcessLookupError):  # children that outlived their parent are still in it
        os.killpg(process.pid, signal.SIGKILL)
    return code


def wait_until_ready(
    process: subprocess.Popen, ready: Callable[[], bool], log: Path, timeout: float
) -> None:
    """Poll `ready()` until it is true; raise `ServerError` with the log if the process exits first
    or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise ServerError(
                f"{process.args[0]} exited with {process.returncode} before it was ready:\n"
                + log_tail(log)
            )
        if time.monotonic() > deadline:
            raise ServerError(f"{process.args[0]} not ready after {timeout} s:\n" + log_tail(log))
        time.sleep(0.2)


@contextmanager
def running(
    command: Sequence[str],
    log: Path,
    ready: str | Callable[[], bool] | None = None,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Run `command` for the duration of a `with` block, stopped however the block ends.

    `ready`: a URL that must answer 200, or a function that returns True once the server is
    ready (e.g. it wrote "listening" to its log); None to go on at once.
    """
    process = start(command, log, env=env, cwd=cwd)
    try:
        if ready is not None:
            check = (lambda: answers(ready)) if isinstance(ready, str) else ready
            wait_until_ready(process, check, log, timeout)
        yield process
    finally:
        stop(process)
