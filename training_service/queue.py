"""The task queue between the web app and the worker: huey, stored in a SQLite file.

The web app puts a job's id on the queue (`submit`); the worker takes ids off it, one at a time,
and runs `training_service.job.run_job` for each. The queue is a file beside the jobs table, so
it survives restarts of both: a job queued while no worker runs waits for the next one.

More than one machine? Replace `SqliteHuey(...)` with `RedisHuey(url="redis://...")`: the same
queue, in a Redis server that every web server and worker reaches. Nothing else changes here
(the jobs table would move to a shared database too).
"""

from __future__ import annotations

from pathlib import Path

from huey import SqliteHuey

from training_service.job import run_job
from training_service.jobs import JobStore

QUEUE_FILE = "queue.sqlite3"
LEFT_RUNNING = (
    "its worker stopped while it ran (killed, crashed or restarted); retry the job if you want"
)


class TrainingQueue:
    """The queue of one jobs folder, with the one task the worker knows: train a job."""

    def __init__(self, folder: str | Path):
        self.jobs = JobStore(folder)
        # results=False: a job's outcome lives in the jobs table; huey need not keep it too.
        self.huey = SqliteHuey("movierec-training", filename=str(Path(folder) / QUEUE_FILE),
                               results=False)  # fmt: skip

        # retries=0 (huey's default): a failed job is retried only when someone asks
        # (POST /train/<id>/retry), never behind the user's back.
        @self.huey.task(name="train")
        def train(job_id: str) -> None:
            run_job(self.jobs, job_id)

        # Runs in each new worker process. The worker runs one job at a time, so a job still
        # marked running when a worker process starts lost its own worker process.
        @self.huey.on_startup()
        def fail_jobs_left_running() -> None:
            self.jobs.fail_running(LEFT_RUNNING)

        self._train = train

    def submit(self, job_id: str, time_limit: float) -> None:
        """Queue a job for the worker; after `time_limit` seconds of training it is stopped."""
        self.huey.enqueue(self._train.s(job_id, id=job_id, timeout=time_limit))

    def requeue_lost(self) -> list[str]:
        """Queue again the jobs the table says are queued but the queue does not hold (the web
        app stopped between writing the row and queueing it). Returns their ids."""
        waiting = {task.id for task in self.huey.pending()}
        lost = [job_id for job_id in self.jobs.queued() if job_id not in waiting]
        for job_id in lost:
            self.submit(job_id, self.jobs.get(job_id).time_limit)
        return lost
