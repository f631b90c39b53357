"""Benchmark: what store mode saves. gunicorn (flask_app/gunicorn.conf.py, 2 workers) serving
the model, then serving its store: seconds until /health answers, memory, and req/s.

    MOVIEREC_DATA_DIR=../shared/data python bench/store_mode.py [--model models/default]

Without --model it trains one on ML-100K first (about 20 s). Memory is the proportional set size
(PSS) summed over gunicorn's master and workers: pages they share after the fork count once,
split among them, so the sum is what the server really costs the machine. Load: wrk, 8
connections, 10 s, the same user's top 10 (`/recommend` vs `/recommendations/<id>`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from loadtest import REPO_ROOT, lua_script, run_wrk

from movierec.batch import build_store
from movierec.processes import answers, free_port, running

VENV_BIN = Path(sys.executable).parent


def pss_mb(root_pid: int) -> float:
    """PSS of a process and its children, in MB (Linux: /proc/PID/smaps_rollup)."""
    total_kb, pids = 0, [root_pid]
    while pids:
        pid = pids.pop()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        total_kb += int(
            next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:"))
        )
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    return total_kb / 1024


def measure(name: str, env: dict[str, str], path: str, scratch: Path) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py", "-w", "2",
               "-b", f"127.0.0.1:{port}", "flask_app:create_app()"]  # fmt: skip
    started = time.perf_counter()
    with running(command, scratch / f"{name}.log", env=env, cwd=REPO_ROOT) as server:
        while not answers(f"{url}/health", timeout=1):
            time.sleep(0.02)
        ready = time.perf_counter() - started
        memory = pss_mb(server.pid)
        row = {"mode": name, "ready_s": ready, "pss_mb": memory}
        wrk = shutil.which("wrk")
        if wrk:
            lua = scratch / f"{name}.lua"
            lua.write_text(lua_script("GET", path))
            result = run_wrk(wrk, name, url, lua, seconds=10, connections=8)
            row |= {"req_s": result.rps, "p99_ms": result.p99_ms, "errors": result.errors}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model directory (default: train one on ML-100K)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        model = args.model
        if model is None:
            from movierec.data import load_dataset
            from movierec.persist import save_model
            from movierec.pipeline import train_and_evaluate

            trained = train_and_evaluate(load_dataset("ml-100k"), progress=False)
            model = save_model(trained.recommender, scratch / "model")
        store = scratch / "store.sqlite"
        build_store(model, store)
        user = 1
        base = {
            k: v for k, v in os.environ.items() if k not in ("MOVIEREC_MODEL", "MOVIEREC_STORE")
        }
        rows = [
            measure("model", {**base, "MOVIEREC_MODEL": str(model)},
                    f"/recommend?user_id={user}&k=10", scratch),
            measure("store", {**base, "MOVIEREC_STORE": str(store)},
                    f"/recommendations/{user}?k=10", scratch),
        ]  # fmt: skip
    for row in rows:
        print("  ".join(f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
                        for key, value in row.items()))  # fmt: skip
    model_row, store_row = rows
    saved = model_row["pss_mb"] - store_row["pss_mb"]
    share = store_row["pss_mb"] / model_row["pss_mb"]
    print(f"store mode: ready {model_row['ready_s'] / store_row['ready_s']:.1f}x sooner, "
          f"{saved:.0f} MB less ({share:.0%} of the model server's memory)")  # fmt: skip


if __name__ == "__main__":
    main()
