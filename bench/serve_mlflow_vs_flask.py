"""Same model, same request, two servers: gunicorn + Flask against `mlflow models serve`.

    python bench/serve_mlflow_vs_flask.py                 # about a minute in all
    python bench/serve_mlflow_vs_flask.py --duration 20 --dataset ml-100k

It trains one model (ML-100K when available, else synthetic; a few epochs: quality does not matter
here), logs and registers it in a temporary MLflow store (SQLite, no tracking server), and makes it
champion. Then it serves `models:/movie-recommender@champion` twice, on free loopback ports:

- gunicorn + Flask (flask_app/gunicorn.conf.py: 2 sync workers), `GET /recommend?user_id=U&k=10`;
- `mlflow models serve --env-manager local` (one uvicorn worker, MLflow's default),
  `POST /invocations` with `{"dataframe_split": {"columns": ["user_id", "k"], "data": [[U, 10]]}}`.

Both answers are checked to hold the same ten movies; then wrk loads each server in turn with
8 connections and the script prints req/s, p50 and p99 latency, errors, and the req/s ratio. The
bar: Flask at least 5x the req/s of `mlflow models serve`. wrk shares the two cores with the
server it loads, so absolute figures are a floor; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

from loadtest import REPO_ROOT, lua_script, run_wrk

from movierec.processes import free_port, running

BIN = Path(sys.executable).parent  # gunicorn, mlflow and uvicorn of this virtual environment
RESULTS = REPO_ROOT / "bench" / "results" / "serve_mlflow_vs_flask.json"
CHAMPION_URI = "models:/movie-recommender@champion"
RATIO_BAR = 5.0  # Flask req/s over `mlflow models serve` req/s
K = 10


# --- the model ----------------------------------------------------------------------------------


class Champion(NamedTuple):
    tracking_uri: str  # the SQLite store it is registered in
    user: int  # a user the model knows, whose recommendations every server is asked for
    model_dir: Path  # the same model as a native model directory


def register_champion(store: Path, dataset: str | None, epochs: int) -> Champion:
    """Train, log and register one model in a SQLite store under `store`."""
    # These import MLflow: only the model step needs it in this process.
    from movierec import registry, tracking
    from movierec.data import load_dataset
    from movierec.hyperparameters import TrainConfig
    from movierec.persist import save_model
    from movierec.pipeline import train_and_evaluate

    data = load_dataset(dataset)
    trained = train_and_evaluate(data, TrainConfig(epochs=epochs), progress=False)
    model_dir = save_model(trained.recommender, store / "native")
    tracking_uri = tracking.local_tracking_uri(store)
    tracking.use_tracking_server(tracking_uri)
    logged = tracking.log_training_run(trained, model_dir, run_name="bench")
    registry.register_and_promote(logged.model_uri)
    print(f"model: {data.describe()}, {epochs} epochs, registered as {CHAMPION_URI}")
    return Champion(tracking_uri, int(trained.recommender.users.raw_ids[0]), model_dir)


# --- the servers --------------------------------------------------------------------------------


def fetch(url: str, body: bytes | None = None) -> dict:
    headers = {"Content-Type": "application/json"} if body else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


# --- the comparison -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="default: ml-100k if available, else synthetic")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as scratch:
        scratch = Path(scratch)
        tracking_uri, user, _ = register_champion(scratch / "store", args.dataset, args.epochs)
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # uvicorn for mlflow
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MOVIEREC_MODEL": CHAMPION_URI,  # the Flask app loads the very same registered model
        }
        env.pop("MLFLOW_EXPERIMENT_ID", None)  # exported by `mlflow.set_experiment` above

        flask_port, mlflow_port = free_port(), free_port()
        flask_path = f"/recommend?user_id={user}&k={K}"
        mlflow_body = json.dumps({"dataframe_split": {"columns": ["user_id", "k"],
                                                      "data": [[user, K]]}})  # fmt: skip
        servers = {
            "gunicorn + Flask": (
                [str(BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
                 "-b", f"127.0.0.1:{flask_port}", "flask_app:create_app()"],
                f"http://127.0.0.1:{flask_port}", "/health", ("GET", flask_path, None),
            ),
            "mlflow models serve": (
                [str(BIN / "mlflow"), "models", "serve", "-m", CHAMPION_URI,
                 "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port)],
                f"http://127.0.0.1:{mlflow_port}", "/ping", ("POST", "/invocations", mlflow_body),
            ),
        }  # fmt: skip

        results, answers = [], {}
        for name, (command, base, ready, (method, path, body)) in servers.items():
            log = scratch / f"{name.split()[0]}.log"
            with running(command, log, base + ready, env=env, cwd=REPO_ROOT):
                answer = fetch(base + path, body.encode() if body else None)
                rows = answer.get("recommendations") or answer["predictions"]  # Flask | MLflow
                answers[name] = [row["item_id"] for row in rows]
                lua = scratch / f"{name.split()[0]}.lua"
                lua.write_text(lua_script(method, path, body))
                run_wrk(wrk, name, base, lua, 2, args.connections)  # warm-up, not counted
                results.append(run_wrk(wrk, name, base, lua, args.duration, args.connections))

    flask, mlflow_serve = results
    assert answers[flask.name] == answers[mlflow_serve.name], f"different answers: {answers}"
    ratio = flask.rps / mlflow_serve.rps
    print(f"\nuser {user}, top {K}, {args.connections} connections, {args.duration} s each, "
          f"same registered model, identical answers")  # fmt: skip
    print(f"{'server':<22}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for r in results:
        print(f"{r.name:<22}{r.requests:>10}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
              f"{r.errors:>8}")  # fmt: skip
    met = ratio >= RATIO_BAR and not any(r.errors for r in results)
    print(f"Flask / mlflow models serve: {ratio:.1f}x req/s "
          f"(bar: >= {RATIO_BAR:.0f}x, no errors: {'met' if met else 'MISSED'})")  # fmt: skip

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"results": [asdict(r) for r in results], "ratio": ratio,
                                   "cpu_count": os.cpu_count()}, indent=2))  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
