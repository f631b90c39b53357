"""The real worker (`python -m training_service.worker`) running the jobs the app queues: jobs
that wait for it, survive its restart, lose their worker to `kill -9` or run out of time, and a
promotion that the app serves at its next request.

The app is this process's (its test client); the worker is a child process on the same jobs
folder, started as `make worker` starts it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from flask_app import create_app
from flask_app.training import START_WORKER
from movierec.processes import running, start, stop, wait_for
from tests.conftest import REPO_ROOT
from tests.flask_app.conftest import API_KEY, AUTH
from tests.training_service.conftest import QUICK, serve_copy
from training_service.queue import LEFT_RUNNING
from training_service.worker import worker_is_running

pytestmark = pytest.mark.slow

WORKER = [sys.executable, "-m", "training_service.worker"]
START_TIMEOUT = 90  # seconds: the worker imports torch, slow on a busy 2-core machine
# Settings that keep a job training for a minute: tiny steps never stop early.
LONG = {"epochs": 200, "learning_rate": 1e-5, "patience": 20, "n_factors": 64}


@dataclass
class Service:
    """The app, its jobs folder, and where the worker writes its log."""

    app: object
    jobs: Path
    log: Path

    def submit(self, settings: dict) -> str:
        body = {"dataset": "synthetic", "hyperparameters": settings}
        response = self.app.test_client().post("/train", json=body, headers=AUTH)
        assert response.status_code == 202, response.get_json()
        return response.get_json()["id"]

    def status(self, job_id: str) -> dict:
        return self.app.test_client().get(f"/train/status/{job_id}", headers=AUTH).get_json()

    def wait_until(self, job_id: str, status: str, timeout: float = 90) -> dict:
        wait_for(lambda: self.status(job_id)["status"] == status, timeout, f"job {status}")
        return self.status(job_id)

    def wait_until_training(self, job_id: str) -> dict:
        def training() -> bool:
            shown = self.status(job_id)
            return shown["status"] == "running" and shown.get("progress", {}).get("step") == 2

        wait_for(training, 90, "the job to be training")
        return self.status(job_id)


@pytest.fixture(scope="module")
def service(tmp_path_factory, tiny_trained) -> Service:
    """Training on, with a served model whose recorded hold-out RMSE is poor: a job beats it."""
    folder = tmp_path_factory.mktemp("service")
    served = serve_copy(tiny_trained.recommender, folder, metrics={"rmse": 5.0})
    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(served), "API_KEYS": [API_KEY],
                      "JOBS_DIR": str(folder / "jobs")})  # fmt: skip
    return Service(app, folder / "jobs", folder / "worker.log")


@contextmanager
def worker(service: Service) -> Iterator:
    """The worker as `make worker` runs it, until the block ends (SIGTERM, as systemd stops it)."""
    env = {**os.environ, "MOVIEREC_JOBS_DIR": str(service.jobs)}
    starts = service.log.read_text().count("one job at a time") if service.log.exists() else 0

    def ready() -> bool:
        started = service.log.exists() and service.log.read_text().count("one job at a time")
        return worker_is_running(service.jobs) and started > starts

    with running(WORKER, service.log, ready, START_TIMEOUT, env=env, cwd=REPO_ROOT) as process:
        yield process


def test_jobs_wait_for_a_worker_survive_its_restart_and_promote_their_model(service):
    long_job, quick_job = service.submit(LONG), service.submit(QUICK)
    waiting = service.status(quick_job)
    assert (waiting["status"], waiting["worker"], waiting["position"]) == (
        "queued",
        START_WORKER,
        2,
    )

    with worker(service):
        service.wait_until_training(long_job)
        assert service.status(quick_job)["worker"] == "running"
    # Stopped mid-training: that job failed and says why; the queued one waits on.
    assert service.status(long_job)["error"] == "the worker was stopped while it ran; retry the job"
    assert service.status(quick_job)["status"] == "queued"

    with worker(service):
        done = service.wait_until(quick_job, "succeeded")
    assert done["result"]["promotion"]["promoted"] is True
    health = service.app.test_client().get("/health").get_json()
    assert health["version"] == done["result"]["model"]["version"]  # served, without a restart


def test_a_killed_worker_process_fails_its_job_and_the_next_job_runs(service):
    with worker(service):
        long_job = service.submit(LONG)
        pid = service.wait_until_training(long_job)["worker_pid"]
        os.kill(pid, signal.SIGKILL)  # the out-of-memory killer, or an operator's kill -9
        assert service.wait_until(long_job, "failed", timeout=30)["error"] == LEFT_RUNNING
        assert service.wait_until(service.submit(QUICK), "succeeded")["worker_pid"] != pid


def test_a_job_past_its_time_limit_fails(service):
    service.app.config["TRAINING_TIME_LIMIT"] = 3
    try:
        long_job = service.submit(LONG)
    finally:
        service.app.config["TRAINING_TIME_LIMIT"] = 30 * 60
    with worker(service):
        failed = service.wait_until(long_job, "failed")
    assert failed["error"] == "it ran longer than its time limit of 3 s"


def test_a_second_worker_refuses_to_start_in_one_line(service, tmp_path):
    env = {**os.environ, "MOVIEREC_JOBS_DIR": str(service.jobs)}
    with worker(service) as first:
        second = start(WORKER, tmp_path / "second.log", env=env, cwd=REPO_ROOT)
        try:
            assert second.wait(timeout=30) == 1
        finally:
            stop(second)
    errors = (tmp_path / "second.log").read_text().strip().splitlines()
    assert errors == [f"error: another worker (pid {first.pid}) runs the jobs of {service.jobs}"]
