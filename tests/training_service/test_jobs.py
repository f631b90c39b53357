"""The jobs table: each state change, the bounded queue, and expiry with the job's files."""

from __future__ import annotations

import threading

import pytest

from training_service.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, JobStore, QueueFull

DAY = 24 * 3600


@pytest.fixture
def jobs(tmp_path, clock) -> JobStore:
    return JobStore(tmp_path / "jobs", clock=clock)


def new_job(jobs: JobStore, served: str = "/srv/models/default", max_queued: int = 5):
    return jobs.create({"dataset": "synthetic"}, served, time_limit=60, ttl=DAY,
                       max_queued=max_queued)  # fmt: skip


def test_a_new_job_is_queued_and_described_in_iso_times(jobs):
    job = new_job(jobs)
    stored = jobs.get(job.id)
    assert stored == job and stored.status == QUEUED
    assert stored.describe() == {
        "id": job.id,
        "status": "queued",
        "request": {"dataset": "synthetic"},
        "created_at": "2027-01-15T08:00:00Z",
    }


def test_a_job_goes_from_queued_to_running_to_succeeded(jobs, clock):
    job = new_job(jobs)
    assert jobs.start(job.id, worker_pid=123).status == RUNNING
    assert jobs.start(job.id, worker_pid=456) is None  # never run twice
    jobs.report(job.id, {"step": 2, "of": 4})
    clock.now += 60
    jobs.succeed(job.id, {"metrics": {"rmse": 0.9}})
    done = jobs.get(job.id)
    assert done.status == SUCCEEDED and done.worker_pid == 123
    assert done.progress == {"step": 2, "of": 4} and done.result == {"metrics": {"rmse": 0.9}}
    assert done.expires_at == done.finished_at + DAY
    assert not jobs.fail(job.id, "too late")  # an ended job stays as it ended


def test_failing_records_the_reason(jobs):
    job = new_job(jobs)
    assert jobs.fail(job.id, "bad data")
    assert jobs.get(job.id).status == FAILED and jobs.get(job.id).error == "bad data"


def test_the_queue_is_bounded(jobs):
    for _ in range(2):
        new_job(jobs, max_queued=2)
    with pytest.raises(QueueFull, match="2 jobs are waiting"):
        new_job(jobs, max_queued=2)
    jobs.start(jobs.queued()[0], worker_pid=1)  # a running job no longer waits
    new_job(jobs, max_queued=2)


def test_requests_at_the_same_moment_never_overfill_the_queue(jobs):
    """The count and the insert are one transaction: 12 threads, 3 places, 3 jobs."""
    outcomes: list[str] = []

    def submit() -> None:
        try:
            new_job(jobs, max_queued=3)
            outcomes.append("queued")
        except QueueFull:
            outcomes.append("full")

    threads = [threading.Thread(target=submit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["full"] * 9 + ["queued"] * 3


def test_positions_count_from_the_oldest_waiting_job(jobs, clock):
    first = new_job(jobs)
    clock.now += 1
    second = new_job(jobs)
    assert (jobs.position(first.id), jobs.position(second.id)) == (1, 2)
    assert jobs.queued() == [first.id, second.id]


def test_a_new_worker_fails_the_jobs_left_running(jobs):
    running, waiting = new_job(jobs), new_job(jobs)
    jobs.start(running.id, worker_pid=1)
    assert jobs.fail_running("its worker died") == [running.id]
    assert jobs.get(running.id).error == "its worker died"
    assert jobs.get(waiting.id).status == QUEUED  # queued jobs are not lost


def test_a_finished_job_expires_with_its_files(jobs, clock):
    job = new_job(jobs)
    (jobs.folder_of(job.id) / "model").mkdir(parents=True)
    jobs.fail(job.id, "bad data")
    clock.now += DAY - 1
    assert jobs.expire() == [] and jobs.get(job.id) is not None
    clock.now += 1
    assert jobs.get(job.id) is None  # gone from view at once...
    assert jobs.expire() == [job.id]  # ...and from the disk when expire runs
    assert not jobs.folder_of(job.id).exists()


def test_waiting_and_running_jobs_never_expire(jobs, clock):
    waiting, running = new_job(jobs), new_job(jobs)
    jobs.start(running.id, worker_pid=1)
    clock.now += 365 * DAY
    assert jobs.expire() == []
    assert jobs.get(waiting.id).status == QUEUED and jobs.get(running.id).status == RUNNING


def test_expiry_never_deletes_a_model_that_is_served(jobs, clock, tiny_trained):
    """A server was pointed at an old job's own model: that job's row expires, its folder
    stays (the later jobs recorded the model as the one served)."""
    from movierec.persist import save_model

    old = new_job(jobs)
    model = save_model(tiny_trained.recommender, jobs.folder_of(old.id) / "model")
    jobs.fail(old.id, "kept only for its model")
    new_job(jobs, served=str(model))
    clock.now += 2 * DAY
    assert jobs.expire() == [old.id]
    assert (model / "metadata.json").is_file()


def test_expiry_keeps_the_model_the_web_app_serves(jobs, clock, tiny_trained):
    from movierec.persist import save_model

    job = new_job(jobs)
    model = save_model(tiny_trained.recommender, jobs.folder_of(job.id) / "model")
    jobs.fail(job.id, "kept only for its model")
    clock.now += 2 * DAY
    assert jobs.expire(served=[str(model)]) == [job.id]
    assert (model / "metadata.json").is_file()
