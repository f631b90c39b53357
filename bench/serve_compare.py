"""One model, one request, five ways to serve it: which costs what, measured in one run.

    python bench/serve_compare.py                       # about two minutes
    MOVIEREC_DATA_DIR=/path/to/data python bench/serve_compare.py --duration 20
    python bench/serve_compare.py --only flask bare     # what monitoring costs: about 2 minutes

It trains one model (ML-100K when available, else synthetic; a few epochs: quality does not
matter here) and registers it in a temporary MLflow store. Then, on free loopback ports, one
after the other, it serves that same model and asks each server for the same user's top 10:

- gunicorn + Flask (flask_app/gunicorn.conf.py: one sync worker per core), `GET /recommend`,
  with Prometheus metrics and the JSON access log, as deployed (lecture 8);
- the same without them ("bare": FLASK_METRICS=false and gunicorn's plain access log line, as
  before lecture 8), to measure what monitoring costs. These two run at the same time and are
  loaded in turn, --rounds times each, so a busy machine's changing load hits both alike;
- the same gunicorn behind nginx with TLS (deploy/nginx/movierec.conf, loopback exempt from
  the rate limit, which would otherwise be what is measured);
- TorchServe (deploy/torchserve/config.properties: one worker, token auth on), `POST
  /predictions/movierec` with the archive `make mar` builds;
- `mlflow models serve` (one uvicorn worker), `POST /invocations`.

Every answer is checked to hold the same ten movies (nginx's certificate verified against a test
CA); then wrk loads each server with 8 connections. wrk itself does not verify certificates: the
check before the load does. The bars: Flask at least 2x TorchServe and 12x `mlflow models
serve`, nginx costing at most 15 % of Flask's req/s, metrics and JSON logs at most 10 %, and no
errors. wrk shares the cores with the
servers, so the figures are a floor; compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
MONITORING_COST_BAR = 0.10  # metrics + JSON access log may cost at most this share of req/s
FLASK = "gunicorn + Flask"  # as deployed: metrics and the JSON access log on
BARE = "gunicorn + Flask, bare"  # no metrics, gunicorn's plain access line
SERVERS = ["flask", "bare", "nginx", "torchserve", "mlflow"]  # in the order they run


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


def gunicorn(
    model_dir: Path, port: int, log: Path, monitoring: bool = True
) -> AbstractContextManager:
    """`monitoring=False`: no /metrics and gunicorn's own plain access line (the "bare" app)."""
    command = [str(BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
               "-b", f"127.0.0.1:{port}", "flask_app:create_app()"]  # fmt: skip
    # FLASK_PROXY_HOPS=1: as the systemd unit runs it behind nginx (harmless without nginx).
    env = {**os.environ, "MOVIEREC_MODEL": str(model_dir), "FLASK_PROXY_HOPS": "1"}
    if not monitoring:
        command[3:3] = ["--logger-class", "gunicorn.glogging.Logger"]
        env["FLASK_METRICS"] = "false"
    return running(command, log, f"http://127.0.0.1:{port}/health", env=env, cwd=REPO_ROOT)


@contextmanager
def flask_target(model_dir: Path, user: int, scratch: Path) -> Iterator[Target]:
    port = free_port()
    with gunicorn(model_dir, port, scratch / "gunicorn.log"):
        yield Target(FLASK, f"http://127.0.0.1:{port}", "GET",
                     f"/recommend?user_id={user}&k={K}")  # fmt: skip


@contextmanager
def bare_target(model_dir: Path, user: int, scratch: Path) -> Iterator[Target]:
    port = free_port()
    with gunicorn(model_dir, port, scratch / "gunicorn-bare.log", monitoring=False):
        yield Target(BARE, f"http://127.0.0.1:{port}", "GET",
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


def load_in_turn(
    targets: list[Target], wrk: str, scratch: Path, seconds: int, connections: int, rounds: int
) -> tuple[list[Result], list[list[Result]]]:
    """Load each target `seconds` per round, in turn, `rounds` times. Returns one Result per
    target over all rounds (requests and errors summed, req/s over the whole time, the median
    round's latencies) and the rounds themselves."""
    for target in targets:
        load(target, wrk, scratch, 2, connections)  # warm-up: not counted
    per_round = []
    for number in range(rounds):
        print(f"round {number + 1} of {rounds} ...", file=sys.stderr, flush=True)
        per_round.append([load(t, wrk, scratch, seconds, connections) for t in targets])
    combined = []
    for i, target in enumerate(targets):
        mine = [round_[i] for round_ in per_round]
        combined.append(Result(
            target.name,
            sum(r.requests for r in mine),
            sum(r.requests for r in mine) / (seconds * rounds),
            statistics.median(r.p50_ms for r in mine),
            statistics.median(r.p99_ms for r in mine),
            sum(r.errors for r in mine),
        ))  # fmt: skip
    return combined, per_round


def bars(by_name: dict[str, Result]) -> dict[str, tuple[float, bool]]:
    """Each bar's measured value, and whether it is met (bars of servers not run are left out)."""
    measured = {}
    flask = by_name[FLASK].rps
    if "TorchServe" in by_name:
        torchserve = flask / by_name["TorchServe"].rps
        measured[f"Flask / TorchServe >= {TORCHSERVE_BAR:g}x"] = (
            torchserve,
            torchserve >= TORCHSERVE_BAR,
        )
    if "mlflow models serve" in by_name:
        mlflow = flask / by_name["mlflow models serve"].rps
        measured[f"Flask / mlflow models serve >= {MLFLOW_BAR:g}x"] = (mlflow, mlflow >= MLFLOW_BAR)
    if "nginx (TLS) + gunicorn" in by_name:
        nginx_cost = 1 - by_name["nginx (TLS) + gunicorn"].rps / flask
        measured[f"nginx costs <= {NGINX_COST_BAR:.0%} of Flask's req/s"] = (
            nginx_cost,
            nginx_cost <= NGINX_COST_BAR,
        )
    if BARE in by_name:
        cost = 1 - flask / by_name[BARE].rps
        measured[f"metrics + JSON log costs <= {MONITORING_COST_BAR:.0%} of bare Flask's req/s"] = (
            cost,
            cost <= MONITORING_COST_BAR,
        )
    return {
        **measured,
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
    parser.add_argument("--rounds", type=int, default=3,
                        help="flask and bare are loaded in turn this many times, --duration "
                        "each (default: %(default)s)")  # fmt: skip
    parser.add_argument("--only", nargs="+", choices=list(SERVERS), default=list(SERVERS),
                        help="run only these servers (flask always runs: the bars compare to "
                        "it)")  # fmt: skip
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("error: wrk is not installed: sudo apt-get install wrk")
    chosen = ["flask", *(name for name in args.only if name != "flask")]
    if "torchserve" in chosen and shutil.which("java") is None:
        raise SystemExit(
            "error: TorchServe needs Java 17: sudo apt-get install openjdk-17-jre-headless"
        )

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        scratch = Path(scratch)
        champion = register_champion(scratch / "store", args.dataset, args.epochs)
        servers: dict[str, Callable[[], AbstractContextManager[Target]]] = {
            "flask": lambda: flask_target(champion.model_dir, champion.user, scratch),
            # Right after the monitored app, so both run on a machine in the same state.
            "bare": lambda: bare_target(champion.model_dir, champion.user, scratch),
            "nginx": lambda: nginx_target(champion.model_dir, champion.user, scratch),
            "torchserve": lambda: torchserve_target(champion.model_dir, champion.user, scratch),
            "mlflow": lambda: mlflow_target(champion.tracking_uri, champion.user, scratch),
        }
        results, answers, rounds = [], {}, []
        for name in SERVERS:
            if name not in chosen or name == "bare":
                continue
            if name == "flask" and "bare" in chosen:
                # Both at once, loaded in turn: what the other programs of a busy machine do
                # meanwhile hits both alike, instead of whichever happened to run second.
                with servers["flask"]() as monitored, servers["bare"]() as bare:
                    for target in (monitored, bare):
                        answers[target.name] = target.ask()
                    pair, rounds = load_in_turn(
                        [monitored, bare], wrk, scratch, args.duration, args.connections,
                        args.rounds,
                    )  # fmt: skip
                    results += pair
                continue
            with servers[name]() as target:
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
    for number, pair in enumerate(rounds, 1):
        costs = 1 - pair[0].rps / pair[1].rps
        print(f"  round {number}: {pair[0].rps:,.0f} vs {pair[1].rps:,.0f} req/s bare: "
              f"monitoring costs {costs:.0%}")  # fmt: skip
    measured = bars({r.name: r for r in results})
    for bar, (value, met) in measured.items():
        shown = f"{value:.0%}" if "costs" in bar else f"{value:.1f}x" if "/" in bar else value
        print(f"{'ok    ' if met else 'MISSED'}  {bar}: {shown}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "connections": args.connections, "seconds": args.duration, "cpu_count": os.cpu_count(),
        "results": [asdict(r) for r in results],
        "monitoring_rounds": [[asdict(r) for r in pair] for pair in rounds],
        "bars": {bar: {"value": value, "met": met} for bar, (value, met) in measured.items()},
    }, indent=2))  # fmt: skip
    return 0 if all(met for _, met in measured.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
