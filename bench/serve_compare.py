"""One model, one request, four ways to serve it: which costs what, measured in one run.

    python bench/serve_compare.py                       # about two minutes
    MOVIEREC_DATA_DIR=/path/to/data python bench/serve_compare.py --duration 20

It trains one model (ML-100K when available, else synthetic; a few epochs: quality does not
matter here) and registers it in a temporary MLflow store. Then, on free loopback ports, one
after the other, it serves that same model and asks each server for the same user's top 10:

- gunicorn + Flask (flask_app/gunicorn.conf.py: one sync worker per core), `GET /recommend`;
- the same gunicorn behind nginx with TLS (deploy/nginx/movierec.conf, loopback exempt from
  the rate limit, which would otherwise be what is measured);
- TorchServe (deploy/torchserve/config.properties: one worker, token auth on), `POST
  /predictions/movierec` with the archive `make mar` builds;
- `mlflow models serve` (one uvicorn worker), `POST /invocations`.

Every answer is checked to hold the same ten movies (nginx's certificate verified against a test
CA); then wrk loads each server with 8 connections. wrk itself does not verify certificates: the
check before the load does. The bars: Flask at least 2x TorchServe and 12x `mlflow models
serve`, nginx costing at most 15 % of Flask's req/s, and no errors. wrk shares the cores with the
servers, so the figures are a floor; compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import requests
from loadtest import REPO_ROOT, Result, lua_script, run_wrk
from serve_mlflow_vs_flask import CHAMPION_URI, register_champion

from deploy import loopback
from deploy.torchserve.archive import build_mar
from movierec.processes import free_port, running

BIN = Path(sys.executable).parent  # gunicorn, mlflow, torchserve of this virtual environment
RESULTS = REPO_ROOT / "bench" / "results" / "serve_compare.json"
K = 10
WARMUP_REQUESTS = 50  # one by one, then 2 s of wrk, before each measurement
TORCHSERVE_BAR = 2.0  # Flask req/s over TorchServe req/s, at least
MLFLOW_BAR = 12.0  # Flask req/s over `mlflow models serve` req/s, at least
NGINX_COST_BAR = 0.15  # nginx may cost at most this share of Flask's req/s


@dataclass(frozen=True)
class Target:
    """A server to load: how to ask it for the top 10, and where its answer's movies are."""

    name: str
    url: str  # scheme, host and port
    method: str
    path: str
    body: str | None = None
    headers: dict[str, str] | None = None
    verify: str | bool = True  # a CA file for the TLS server

    def ask(self) -> list[int]:
        """The movie ids of one answer, through `requests` (certificate verified)."""
        response = requests.request(
            self.method,
            self.url + self.path,
            data=self.body,
            headers={**(self.headers or {}), "Content-Type": "application/json"},
            verify=self.verify,
            timeout=30,
        )
        response.raise_for_status()
        answer = response.json()
        rows = answer.get("recommendations") or answer.get("predictions")  # ours | MLflow's
        return [row["item_id"] for row in rows]


# --- the servers, each a context manager yielding its Target -----------------------------------


def gunicorn(model_dir: Path, port: int, log: Path) -> AbstractContextManager:
    command = [str(BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
               "-b", f"127.0.0.1:{port}", "flask_app:create_app()"]  # fmt: skip
    # FLASK_PROXY_HOPS=1: as the systemd unit runs it behind nginx (harmless without nginx).
    env = {**os.environ, "MOVIEREC_MODEL": str(model_dir), "FLASK_PROXY_HOPS": "1"}
    return running(command, log, f"http://127.0.0.1:{port}/health", env=env, cwd=REPO_ROOT)


@contextmanager
def flask_target(model_dir: Path, user: int, scratch: Path) -> Iterator[Target]:
    port = free_port()
    with gunicorn(model_dir, port, scratch / "gunicorn.log"):
        yield Target("gunicorn + Flask", f"http://127.0.0.1:{port}", "GET",
                     f"/recommend?user_id={user}&k={K}")  # fmt: skip


@contextmanager
def nginx_target(model_dir: Path, user: int, scratch: Path) -> Iterator[Target]:
    certificate = loopback.issue_certificate(scratch, "localhost")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    ports = loopback.NginxPorts(http=free_port(), https=free_port(), app=free_port())
    site = loopback.nginx_site_for_loopback(
        ports, certificate.chain, certificate.key, exempt_loopback=True
    )
    with (
        gunicorn(model_dir, ports.app, scratch / "gunicorn-behind-nginx.log"),
        loopback.running_nginx(nginx, scratch / "nginx", site, ports),
    ):
        yield Target("nginx (TLS) + gunicorn", f"https://localhost:{ports.https}", "GET",
                     f"/recommend?user_id={user}&k={K}",
                     verify=str(certificate.authority))  # fmt: skip


@contextmanager
def torchserve_target(model_dir: Path, user: int, scratch: Path) -> Iterator[Target]:
    archive = build_mar(model_dir, scratch / "archive")
    ports = loopback.TorchServePorts(*(free_port() for _ in range(6)))
    with loopback.running_torchserve(
        str(BIN / "torchserve"), scratch / "torchserve", archive, ports
    ) as server:
        yield Target("TorchServe", server.inference_url, "POST", "/predictions/movierec",
                     json.dumps({"user_id": user, "k": K}), server.headers())  # fmt: skip


@contextmanager
def mlflow_target(tracking_uri: str, user: int, scratch: Path) -> Iterator[Target]:
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # uvicorn for mlflow
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    env.pop("MLFLOW_EXPERIMENT_ID", None)  # exported by `mlflow.set_experiment` when registering
    command = [str(BIN / "mlflow"), "models", "serve", "-m", CHAMPION_URI,
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    body = json.dumps({"dataframe_split": {"columns": ["user_id", "k"], "data": [[user, K]]}})
    with running(command, scratch / "mlflow.log", f"http://127.0.0.1:{port}/ping", env=env,
                  cwd=REPO_ROOT):  # fmt: skip
        yield Target("mlflow models serve", f"http://127.0.0.1:{port}", "POST", "/invocations",
                     body)  # fmt: skip


# --- the comparison -----------------------------------------------------------------------------


def load(target: Target, wrk: str, scratch: Path, seconds: int, connections: int) -> Result:
    """Warm up (not counted), then load `target` with wrk for `seconds`."""
    for _ in range(WARMUP_REQUESTS):  # first requests are slow (lazy imports, Java's JIT)
        target.ask()
    lua = scratch / f"{target.name.split()[0].lower()}.lua"
    lua.write_text(lua_script(target.method, target.path, target.body, target.headers))
    run_wrk(wrk, target.name, target.url, lua, 2, connections)
    return run_wrk(wrk, target.name, target.url, lua, seconds, connections)


def bars(by_name: dict[str, Result]) -> dict[str, tuple[float, bool]]:
    """Each bar's measured value, and whether it is met."""
    flask = by_name["gunicorn + Flask"].rps
    torchserve = flask / by_name["TorchServe"].rps
    mlflow = flask / by_name["mlflow models serve"].rps
    nginx_cost = 1 - by_name["nginx (TLS) + gunicorn"].rps / flask
    return {
        f"Flask / TorchServe >= {TORCHSERVE_BAR:g}x": (torchserve, torchserve >= TORCHSERVE_BAR),
        f"Flask / mlflow models serve >= {MLFLOW_BAR:g}x": (mlflow, mlflow >= MLFLOW_BAR),
        f"nginx costs <= {NGINX_COST_BAR:.0%} of Flask's req/s": (
            nginx_cost,
            nginx_cost <= NGINX_COST_BAR,
        ),
        "no errors": (
            sum(r.errors for r in by_name.values()),
            all(r.errors == 0 for r in by_name.values()),
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="default: ml-100k if available, else synthetic")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("error: wrk is not installed: sudo apt-get install wrk")
    if shutil.which("java") is None:
        raise SystemExit(
            "error: TorchServe needs Java 17: sudo apt-get install openjdk-17-jre-headless"
        )

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        scratch = Path(scratch)
        champion = register_champion(scratch / "store", args.dataset, args.epochs)
        servers: list[Callable[[], AbstractContextManager[Target]]] = [
            lambda: flask_target(champion.model_dir, champion.user, scratch),
            lambda: nginx_target(champion.model_dir, champion.user, scratch),
            lambda: torchserve_target(champion.model_dir, champion.user, scratch),
            lambda: mlflow_target(champion.tracking_uri, champion.user, scratch),
        ]
        results, answers = [], {}
        for serve in servers:
            with serve() as target:
                print(f"loading {target.name} ...", file=sys.stderr, flush=True)
                answers[target.name] = target.ask()
                results.append(load(target, wrk, scratch, args.duration, args.connections))

    first = next(iter(answers.values()))
    assert all(a == first for a in answers.values()), f"different answers: {answers}"
    print(f"\nuser {champion.user}, top {K}, {args.connections} connections, {args.duration} s "
          f"each, the same model everywhere, identical answers")  # fmt: skip
    print(f"{'server':<26}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for r in results:
        print(f"{r.name:<26}{r.requests:>10,}{r.rps:>10,.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
              f"{r.errors:>8}")  # fmt: skip
    measured = bars({r.name: r for r in results})
    for bar, (value, met) in measured.items():
        shown = f"{value:.0%}" if "costs" in bar else f"{value:.1f}x" if "/" in bar else value
        print(f"{'ok    ' if met else 'MISSED'}  {bar}: {shown}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "connections": args.connections, "seconds": args.duration, "cpu_count": os.cpu_count(),
        "results": [asdict(r) for r in results],
        "bars": {bar: {"value": value, "met": met} for bar, (value, met) in measured.items()},
    }, indent=2))  # fmt: skip
    return 0 if all(met for _, met in measured.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
