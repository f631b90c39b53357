"""What one job does (training_service/job.py), run in this process: every way it can end, and
the one rule that decides whether its model replaces the served one."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from huey.exceptions import TaskTimeout

from movierec.persist import load_model
from tests.training_service.conftest import QUICK, serve_copy
from training_service import job as job_module
from training_service.job import PROMOTIONS_LOG, RATINGS_FILE, run_job
from training_service.jobs import FAILED, QUEUED, SUCCEEDED, JobStore


@pytest.fixture
def jobs(tmp_path) -> JobStore:
    return JobStore(tmp_path / "jobs")


def queue_job(jobs: JobStore, served: Path, request: dict | None = None) -> str:
    request = request or {"dataset": "synthetic", "hyperparameters": QUICK}
    return jobs.create(request, str(served), time_limit=600, ttl=3600, max_queued=5).id


def fingerprint(served: Path) -> tuple[str, bytes]:
    """Where the served link points and the bytes of its metadata: unchanged means untouched."""
    return os.path.realpath(served), (served / "metadata.json").read_bytes()


# --- succeeded: promoted or not, by the one rule --------------------------------------------------


def test_a_better_model_replaces_the_served_one_and_the_promotion_is_recorded(
    jobs, tmp_path, tiny_trained
):
    """The served model's recorded hold-out RMSE is poor: the job's model beats it."""
    served = serve_copy(tiny_trained.recommender, tmp_path, metrics={"rmse": 5.0})
    job_id = queue_job(jobs, served)
    run_job(jobs, job_id)

    job = jobs.get(job_id)
    assert job.status == SUCCEEDED, job.error
    assert job.result["promotion"]["promoted"] is True
    assert "beats the champion (5.0000)" in job.result["promotion"]["reason"]
    now_served = load_model(served)
    assert now_served.version == job.result["model"]["version"]
    assert now_served.metadata["promotion"]["job_id"] == job_id  # the model says why it is there
    assert load_model(job.result["model"]["location"]).version == now_served.version
    (line,) = (jobs.folder / PROMOTIONS_LOG).read_text().splitlines()
    assert json.loads(line) | {"at": None} == {
        "at": None, "job_id": job_id, "version": now_served.version,
        "served_model": str(served), "promoted": True, "reason": job.result["promotion"]["reason"],
    }  # fmt: skip


def test_a_worse_model_is_kept_in_its_job_and_never_served(jobs, served):
    before = fingerprint(served)
    job_id = queue_job(jobs, served)
    run_job(jobs, job_id)

    job = jobs.get(job_id)
    assert job.status == SUCCEEDED
    assert job.result["promotion"]["promoted"] is False
    assert "does not beat the champion" in job.result["promotion"]["reason"]
    assert fingerprint(served) == before
    assert Path(job.result["model"]["location"], "metadata.json").is_file()
    assert set(job.result["metrics"]) >= {"rmse", "mae", "ndcg@10"}


def test_a_model_measured_on_other_ratings_is_never_promoted(jobs, tmp_path, tiny_trained):
    """A better score on other data proves nothing: the served model stays."""
    other_data = {"name": "synthetic", "checksum": "another", "n_ratings": 1}
    served = serve_copy(tiny_trained.recommender, tmp_path, dataset=other_data,
                        metrics={"rmse": 5.0})  # fmt: skip
    before = fingerprint(served)
    job_id = queue_job(jobs, served)
    run_job(jobs, job_id)
    promotion = jobs.get(job_id).result["promotion"]
    assert promotion["promoted"] is False and promotion["reason"].startswith("not comparable")
    assert fingerprint(served) == before


# --- failed: each reason, the served model untouched ----------------------------------------------


def test_bad_data_fails_the_job_with_the_reason(jobs, served):
    before = fingerprint(served)
    job_id = queue_job(jobs, served, {"ratings": "uploaded", "hyperparameters": {}})
    jobs.folder_of(job_id).mkdir()
    (jobs.folder_of(job_id) / RATINGS_FILE).write_text("1\t10\t5\n1\t20\t4\n")
    run_job(jobs, job_id)
    job = jobs.get(job_id)
    assert job.status == FAILED
    assert "2 ratings are too few to train on" in job.error
    assert fingerprint(served) == before


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (RuntimeError("boom"), "unexpected error (RuntimeError: boom); see the log"),
        (TaskTimeout("timeout (600s)"), "it ran longer than its time limit of 600 s"),
    ],
)
def test_an_error_or_the_time_limit_fails_the_job(jobs, served, monkeypatch, raised, reason):
    def training_that_fails(*args, **kwargs):
        raise raised

    monkeypatch.setattr(job_module, "train_and_evaluate", training_that_fails)
    before = fingerprint(served)
    job_id = queue_job(jobs, served)
    run_job(jobs, job_id)
    job = jobs.get(job_id)
    assert (job.status, job.error) == (FAILED, reason)
    assert job.progress == {"step": 2, "of": 4, "doing": "training and measuring"}
    assert fingerprint(served) == before


def test_a_stopping_worker_fails_the_job_then_starts_no_other(jobs, served, monkeypatch):
    """Interrupted, the job fails; a job the stopping process takes off the queue afterwards (its
    stop flag comes later than the signal) stays queued, for the next worker."""
    monkeypatch.setattr(job_module, "_stopping", threading.Event())  # this test's process only

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # what huey raises in a job when the worker gets SIGTERM

    monkeypatch.setattr(job_module, "train_and_evaluate", interrupted)
    job_id, next_id = queue_job(jobs, served), queue_job(jobs, served)
    with pytest.raises(KeyboardInterrupt):
        run_job(jobs, job_id)
    assert jobs.get(job_id).error == "the worker was stopped while it ran; retry the job"
    run_job(jobs, next_id)
    assert jobs.get(next_id).status == QUEUED


def test_a_job_that_is_no_longer_queued_is_not_run(jobs, served, monkeypatch):
    monkeypatch.setattr(job_module, "train_and_evaluate", None)  # would fail if called
    job_id = queue_job(jobs, served)
    jobs.fail(job_id, "presumed dead")
    run_job(jobs, job_id)
    assert jobs.get(job_id).error == "presumed dead"
