"""What the serving benchmarks share: a wrk script, running wrk and reading its report.
(Servers are started and stopped with `movierec.processes`, as the tests do.)

`serve_load.py`, `serve_mlflow_vs_flask.py` and `serve_compare.py` import it
(`python bench/NAME.py` puts this folder on `sys.path`).
"""

from __future__ import annotations

import re
import subprocess
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


def lua_script(
    method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> str:
    """A wrk script that sends this one request over and over (the same user every time, so
    every server compared does the same work)."""
    lines = [f'wrk.method = "{method}"', f'wrk.path = "{path}"']
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    if body is not None:
        lines += ['wrk.headers["Content-Type"] = "application/json"', f"wrk.body = '{body}'"]
    return "\n".join(lines) + "\n"


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
    if set(latency) != {"50", "99"}:  # no request completed: say what wrk said
        raise RuntimeError(f"wrk measured no latencies for {name} at {url}:\n{output}")
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
