"""What the serving benchmarks share: free ports, starting and stopping servers, running wrk.

Both `serve_load.py` and `serve_mlflow_vs_flask.py` import it (`python bench/NAME.py` puts this
folder on `sys.path`).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    """One load run: what was loaded, how many requests, req/s, latency quantiles, errors."""

    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    command: list[str], env: dict[str, str], ready_url: str, log: Path, timeout: float = 120
) -> subprocess.Popen:
    """Start a server in its own process group; return once `ready_url` answers 200."""
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"{command[0]} exited at start-up:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(ready_url, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit(f"{ready_url} did not answer within {timeout:.0f} s; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM the server's whole process group (workers included), SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _ms(text: str) -> float:
    """wrk's durations ("812.00us", "1.23ms", "1.01s") in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(wrk: str, name: str, url: str, lua: Path, seconds: float, connections: int) -> Result:
    """Load `url` with wrk (requests shaped by the Lua script `lua`) and parse its report."""
    threads = min(connections, 2)  # wrk's own threads: one per core is plenty on loopback
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
               "-s", str(lua), url]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        output)  # fmt: skip
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(
        name,
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        errors=(sum(map(int, sockets.groups())) if sockets else 0)
        + (int(non_2xx.group(1)) if non_2xx else 0),
    )
