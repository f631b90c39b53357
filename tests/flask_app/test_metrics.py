"""GET /metrics: what Prometheus reads, first through the test client, then from real gunicorn
workers, where N requests spread over the workers must count N."""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from movierec.processes import free_port, running, wait_for
from tests.conftest import REPO_ROOT, VENV_BIN

START_TIMEOUT = 90  # seconds: importing torch on a busy 2-core machine can take a while


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, its labels): value} of a /metrics answer."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def requests_total(text: str, endpoint: str, status: str, method: str = "GET") -> float:
    labels = {"endpoint": endpoint, "method": method, "status": status}
    return value(text, "movierec_http_requests_total", **labels)


@pytest.fixture
def known_user(app) -> int:
    return int(app.extensions["model"].served.recommender.users.raw_ids[0])


# --- through the test client (one process: the session's app) -----------------------------------


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "movierec_http_requests",
        "movierec_http_request_duration_seconds",
        "movierec_unknown_user_answers",
        "movierec_predicted_rating",
        "movierec_model_load_seconds",
        "movierec_model_info",
        "movierec_model_created_timestamp_seconds",
    } <= names


def test_requests_are_counted_by_route_and_status(client, known_user):
    before = client.get("/metrics").text
    for _ in range(3):
        assert client.get(f"/recommend?user_id={known_user}").status_code == 200
    assert client.get("/recommend?user_id=abc").status_code == 400
    assert client.get("/movies/1").status_code == 200
    after = client.get("/metrics").text
    for endpoint, status, added in [
        ("/recommend", "200", 3),
        ("/recommend", "400", 1),
        ("/movies/<item_id>", "200", 1),  # the route, not /movies/1: one series per route
    ]:
        grew = requests_total(after, endpoint, status) - requests_total(before, endpoint, status)
        assert grew == added, (endpoint, status)


def test_unknown_urls_share_one_label(client):
    """A scanner trying a thousand paths must not make a thousand time series."""
    client.get("/wp-login.php")
    client.get("/.env")
    text = client.get("/metrics").text
    assert requests_total(text, "unmatched", "404") >= 2
    assert "wp-login" not in text and ".env" not in text


def test_latency_is_a_histogram_per_route(client, known_user):
    before = client.get("/metrics").text
    client.get(f"/recommend?user_id={known_user}")
    after = client.get("/metrics").text
    name = "movierec_http_request_duration_seconds_count"
    assert (
        value(after, name, endpoint="/recommend") == value(before, name, endpoint="/recommend") + 1
    )
    assert 'le="0.25"' in after  # the alert's threshold is a bucket edge (monitoring/alerts.yml)


def test_answers_for_unknown_users_are_counted(client, known_user):
    before = value(client.get("/metrics").text, "movierec_unknown_user_answers_total")
    assert client.get("/recommend?user_id=999999").status_code == 404
    assert client.post("/predict", json={"user_id": 999999, "item_ids": [1]}).status_code == 404
    # An unknown *movie* for a known user is a 404 too, but not a sign of a stale model.
    assert (
        client.post("/predict", json={"user_id": known_user, "item_ids": [10**6]}).status_code
        == 404
    )
    after = value(client.get("/metrics").text, "movierec_unknown_user_answers_total")
    assert after - before == 2


def test_the_best_predicted_rating_of_each_recommendation_is_observed(client, app, known_user):
    before = value(client.get("/metrics").text, "movierec_predicted_rating_count")
    client.get(f"/recommend?user_id={known_user}&k=3")
    text = client.get("/metrics").text
    assert value(text, "movierec_predicted_rating_count") == before + 1


def test_the_model_is_described(client, app, trained_model_dir):
    metadata = app.extensions["model"].served.recommender.metadata
    text = client.get("/metrics").text
    info = {
        "version": metadata["version"],
        "created_at": metadata["created_at"],
        "dataset": metadata["dataset"]["name"],
    }
    assert value(text, "movierec_model_info", **info) == 1
    assert value(text, "movierec_model_load_seconds") > 0
    assert value(text, "movierec_model_created_timestamp_seconds") > 1.6e9  # after 2020


def test_metrics_can_be_turned_off(trained_model_dir):
    from flask_app import create_app

    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir), "METRICS": False})
    assert app.test_client().get("/metrics").status_code == 404


# --- real gunicorn workers -----------------------------------------------------------------------


def gunicorn_env(model: Path, metrics_dir: Path) -> dict[str, str]:
    env = {**os.environ, "MOVIEREC_MODEL": str(model), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    env.pop("FLASK_DEBUG", None)
    return env


def leave_a_stale_count(metrics_dir: Path, requests_counted: int) -> None:
    """What a previous run leaves behind: a worker's file saying it answered many requests."""
    code = (
        "from prometheus_client import Counter\n"
        "c = Counter('movierec_http_requests', 'x', ['endpoint', 'method', 'status'])\n"
        f"c.labels('/health', 'GET', '200').inc({requests_counted})\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert list(metrics_dir.glob("counter_*.db"))


def worker_pids(metrics_dir: Path, master: int) -> set[int]:
    """The processes that wrote counters: the workers (the master answers no request)."""
    pids = {int(re.search(r"_(\d+)\.db$", p.name).group(1)) for p in metrics_dir.glob("counter_*")}
    return pids - {master}


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_n_requests_over_several_workers_count_n(trained_model_dir, tmp_path):
    """Three workers, 8 clients at once: the count is the sum over the workers, a stale file of
    an earlier run is not added, and a worker that dies takes none of its counts with it."""
    metrics_dir, log, port = tmp_path / "metrics", tmp_path / "gunicorn.log", free_port()
    metrics_dir.mkdir()
    leave_a_stale_count(metrics_dir, 1000)
    url = f"http://127.0.0.1:{port}"
    command = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
               "-b", f"127.0.0.1:{port}", "-w", "3", "flask_app:create_app()"]  # fmt: skip
    env = gunicorn_env(trained_model_dir, metrics_dir)
    with running(command, log, f"{url}/health", START_TIMEOUT, env, cwd=REPO_ROOT) as server:
        wait_for(lambda: log.read_text().count("Booting worker") >= 3, 60, "three workers")

        def health_count() -> float:
            text = requests.get(f"{url}/metrics", timeout=10).text
            return requests_total(text, "/health", "200")

        start = health_count()  # /health answered the readiness check, nothing more
        assert start < 100, "the stale count of an earlier run was added"
        n = 300
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: requests.get(f"{url}/health", timeout=10)
                                     .status_code, range(n)))  # fmt: skip
        assert statuses == [200] * n
        assert health_count() == start + n
        workers = worker_pids(metrics_dir, server.pid)
        assert len(workers) >= 2, f"the requests reached only {workers}: not a multi-worker test"

        # A worker killed outright: gunicorn starts another, child_exit marks the dead one, and
        # the requests it answered are still counted.
        os.kill(min(workers), signal.SIGKILL)
        wait_for(lambda: log.read_text().count("Booting worker") >= 4, 60, "a new worker")
        assert health_count() == start + n


def test_child_exit_marks_a_dead_worker(tmp_path, monkeypatch):
    """gunicorn.conf.py's hook removes the dead worker's "live" gauges, as the library asks."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings = runpy.run_path(str(REPO_ROOT / "flask_app" / "gunicorn.conf.py"))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    settings["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db"]


def test_the_metrics_directory_is_emptied_at_start(tmp_path, monkeypatch):
    (tmp_path / "counter_1.db").write_bytes(b"left by an earlier run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    runpy.run_path(str(REPO_ROOT / "flask_app" / "gunicorn.conf.py"))
    assert list(tmp_path.iterdir()) == []


def test_without_a_directory_one_is_made_and_removed_at_exit(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings = runpy.run_path(str(REPO_ROOT / "flask_app" / "gunicorn.conf.py"))
    made = Path(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"))
    assert made.is_dir()
    settings["on_exit"](None)
    assert not made.exists()


def test_a_swapped_model_is_described_and_the_old_one_zeroed(tmp_path, trained_model_dir):
    """After a hot swap (flask_app/served.py) the new model's series is 1 and the old one's 0."""
    import shutil

    from flask_app import create_app
    from movierec.persist import read_metadata

    link, second = tmp_path / "default", tmp_path / "second"
    shutil.copytree(trained_model_dir, second)
    metadata = read_metadata(second)
    metadata["version"] = "swapped-in"
    (second / "metadata.json").write_text(json.dumps(metadata))
    link.symlink_to(trained_model_dir)
    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(link)})
    client = app.test_client()
    first_version = app.extensions["model"].served.recommender.version
    client.get("/health")
    link.unlink()
    link.symlink_to(second)
    assert client.get("/health").headers["X-Model-Version"] == "swapped-in"
    text = client.get("/metrics").text
    series = {dict(labels)["version"]: v for (name, labels), v in samples(text).items()
              if name == "movierec_model_info"}  # fmt: skip
    assert series["swapped-in"] == 1 and series[first_version] == 0
