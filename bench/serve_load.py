"""Load-test the API under gunicorn on loopback: req/s and p50/p99 latency per endpoint.

    python bench/serve_load.py                  # 60 s in all: 20 s each for three endpoints
    MOVIEREC_DATA_DIR=/work/shared/data python bench/serve_load.py --duration 30

It trains a fresh model (ML-100K when the data directory has it, else the synthetic set), starts
gunicorn with flask_app/gunicorn.conf.py on a free loopback port, loads /health, /recommend and
/predict in turn with 8 connections (wrk when installed, else a bounded Python load generator),
prints a table, and stops everything. Exit status 1 when a bar is missed:
p99 of /recommend <= 15 ms, req/s of /recommend >= 0.8 x /health, and no errors at all.

The load generator shares the CPU with the server: on a 2-core machine the figures are a floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from string import Template

from loadtest import REPO_ROOT, Result, run_wrk

from movierec.processes import free_port, running

BIN = Path(sys.executable).parent  # gunicorn and python from the same virtual environment
RESULTS = REPO_ROOT / "bench" / "results" / "serve_load.json"

P99_BAR_MS = 15.0  # /recommend must answer within this, 99 times out of 100
RATIO_BAR = 0.8  # /recommend req/s over /health req/s: the model must cost little per request
PREDICT_ITEMS = 10  # movies per /predict request
WARMUP_SECONDS = 2  # per endpoint, before measuring


# --- the server ---------------------------------------------------------------------------------


def train_model(out: Path) -> str:
    """Train the default model (ML-100K if present, else synthetic) into `out`; its dataset."""
    subprocess.run(
        [str(BIN / "python"), "-m", "movierec", "train", "--out", str(out), "--quiet"],
        check=True,
        cwd=REPO_ROOT,
    )
    return json.loads((out / "metadata.json").read_text())["dataset"]["name"]


def gunicorn(model: Path, port: int, log: Path):
    """The production command on a free port, running for a `with` block; its log in a file."""
    command = [
        str(BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
        "-b", f"127.0.0.1:{port}", "flask_app:create_app()",
    ]  # fmt: skip
    env = {**os.environ, "MOVIEREC_MODEL": str(model)}
    return running(command, log, f"http://127.0.0.1:{port}/health", env=env, cwd=REPO_ROOT)


# --- the requests -------------------------------------------------------------------------------


def endpoints(user_ids: list[int], item_ids: list[int]) -> dict[str, callable]:
    """For each endpoint, a function giving one random request: (method, path, body or None)."""
    rng = random.Random(42)

    def predict():
        body = {"user_id": rng.choice(user_ids), "item_ids": rng.sample(item_ids, PREDICT_ITEMS)}
        return "POST", "/predict", json.dumps(body)

    return {
        "/health": lambda: ("GET", "/health", None),
        "/recommend": lambda: ("GET", f"/recommend?user_id={rng.choice(user_ids)}&k=10", None),
        "/predict": predict,
    }


# wrk runs a Lua script per thread; its `request` function builds each request. `wrk_script`
# fills in $users, $items and $n, so wrk sends the same random requests as `endpoints`.
LUA_IDS = """
math.randomseed(42)
local users = {$users}
local items = {$items}
"""
LUA_REQUESTS = {
    "/health": """
request = function()
  return wrk.format("GET", "/health")
end
""",
    "/recommend": """
request = function()
  local user = users[math.random(#users)]
  return wrk.format("GET", "/recommend?user_id=" .. user .. "&k=10")
end
""",
    "/predict": """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local ids = {}
  for n = 1, $n do ids[n] = items[math.random(#items)] end
  local user = users[math.random(#users)]
  local body = '{"user_id": ' .. user .. ', "item_ids": [' .. table.concat(ids, ", ") .. "]}"
  return wrk.format(nil, "/predict", nil, body)
end
""",
}


def wrk_script(endpoint: str, user_ids: list[int], item_ids: list[int]) -> str:
    """The Lua script that makes wrk send random requests to `endpoint`."""
    return Template(LUA_IDS + LUA_REQUESTS[endpoint]).substitute(
        users=",".join(map(str, user_ids)), items=",".join(map(str, item_ids)), n=PREDICT_ITEMS
    )


# --- load with Python, when wrk is missing ------------------------------------------------------


def load_with_python(port: int, endpoint: str, make_request, seconds: float,
                     connections: int) -> Result:  # fmt: skip
    """`connections` threads, each with one keep-alive connection, for `seconds` at most."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.monotonic() < deadline:
            method, path, body = make_request()
            headers = {"Content-Type": "application/json"} if body else {}
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    quantile = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3  # noqa: E731
    return Result(endpoint, len(latencies), len(latencies) / seconds, quantile(0.5),
                  quantile(0.99), errors[0])  # fmt: skip


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=60,
        help="seconds of load in all, split between the endpoints (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--model", type=Path, help="serve this model directory instead of "
                        "training a fresh one")  # fmt: skip
    parser.add_argument("--python", action="store_true", help="use the Python load generator "
                        "even when wrk is installed")  # fmt: skip
    args = parser.parse_args(argv)

    wrk = None if args.python else shutil.which("wrk")
    workdir = Path(tempfile.mkdtemp(prefix="serve-load-"))
    try:
        model = args.model
        if model is None:
            model = workdir / "model"
            print("training a fresh model ...", flush=True)
            dataset = train_model(model)
        else:
            dataset = json.loads((model / "metadata.json").read_text())["dataset"]["name"]
        metadata = json.loads((model / "metadata.json").read_text())
        user_ids, item_ids = metadata["user_ids"], metadata["item_ids"]

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with gunicorn(model, port, workdir / "gunicorn.log"):
            requests_for = endpoints(user_ids, item_ids)
            seconds = args.duration / len(requests_for)
            tool = "wrk" if wrk else "Python threads (install wrk for steadier figures)"
            print(f"model: {dataset}, {len(user_ids)} users, {len(item_ids)} movies; "
                  f"load: {tool}, {args.connections} connections, {seconds:.0f} s per endpoint",
                  file=sys.stderr)  # fmt: skip

            def load(endpoint: str, seconds: float) -> Result:
                if wrk:
                    lua = workdir / f"{endpoint.strip('/')}.lua"
                    lua.write_text(wrk_script(endpoint, user_ids, item_ids))
                    return run_wrk(wrk, endpoint, url + endpoint, lua, seconds, args.connections)
                return load_with_python(port, endpoint, requests_for[endpoint], seconds,
                                        args.connections)  # fmt: skip

            # Warm up first (not measured): fresh workers, cold caches and a CPU still busy with
            # start-up would all count against whichever endpoint happened to come first.
            for endpoint in requests_for:
                load(endpoint, WARMUP_SECONDS)
            results = [load(endpoint, seconds) for endpoint in requests_for]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    by_name = {r.name: r for r in results}
    ratio = by_name["/recommend"].rps / by_name["/health"].rps
    print(f"\n{'endpoint':<12}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for r in results:
        print(f"{r.name:<12}{r.requests:>10,}{r.rps:>10,.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
              f"{r.errors:>8}")  # fmt: skip
    print(f"\n/recommend ÷ /health req/s: {ratio:.2f}")

    bars = {
        f"p99 of /recommend <= {P99_BAR_MS:g} ms": by_name["/recommend"].p99_ms <= P99_BAR_MS,
        f"/recommend ÷ /health >= {RATIO_BAR}": ratio >= RATIO_BAR,
        f"no errors in {args.duration:g} s of load": all(r.errors == 0 for r in results),
    }
    for bar, met in bars.items():
        print(f"{'ok    ' if met else 'MISSED'}  {bar}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "dataset": dataset, "tool": "wrk" if wrk else "python", "connections": args.connections,
        "seconds_per_endpoint": seconds, "cpu_count": os.cpu_count(), "ratio": ratio,
        "results": [asdict(r) for r in results], "bars": bars,
    }, indent=2))  # fmt: skip
    return 0 if all(bars.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
