"""The jobs table: our own record of every training job, in SQLite.

The task queue carries work to the worker, but a queue is not a record: it forgets a task once
a worker takes it, and a worker that is killed takes its task with it. So every job also has a
row here, written at each step, and the status endpoint reads only this table:

    queued ──► running ──► succeeded
       │          │
       └──────────┴──────► failed      (bad data, an error, its time limit, a dead worker)

A finished job's row expires `ttl` seconds after it finished: `expire` deletes the row and the
job's folder (the ratings it was sent, the model it trained), never a model that is served.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
DATABASE = "jobs.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    request      TEXT NOT NULL,  -- JSON: the data and the hyperparameters asked for
    served_model TEXT NOT NULL,  -- the model it may replace: the web app's MOVIEREC_MODEL
    time_limit   REAL NOT NULL,  -- seconds the training may take
    ttl          REAL NOT NULL,  -- seconds the row is kept once the job has finished
    created_at   REAL NOT NULL,  -- Unix times, in seconds
    started_at   REAL,
    finished_at  REAL,
    expires_at   REAL,
    worker_pid   INTEGER,        -- the process that runs it
    progress     TEXT,           -- JSON: which step it is at
    result       TEXT,           -- JSON: metrics, the saved model, the promotion decision
    error        TEXT,           -- why it failed, in a sentence
    retry_of     TEXT            -- the failed job this one runs again
)
"""


class QueueFull(Exception):
    """As many jobs as allowed are waiting already."""


@dataclass(frozen=True)
class Job:
    """One row of the table."""

    id: str
    status: str
    request: dict[str, Any]
    served_model: str
    time_limit: float
    ttl: float
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None
    worker_pid: int | None = None
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_of: str | None = None

    def describe(self) -> dict[str, Any]:
        """The job as the status endpoint shows it: times in ISO 8601 UTC, empty fields left out."""
        shown = {
            "id": self.id,
            "status": self.status,
            "request": self.request,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "worker_pid": self.worker_pid,
            "progress": self.progress,
            "finished_at": _iso(self.finished_at),
            "result": self.result,
            "error": self.error,
            "retry_of": self.retry_of,
            "expires_at": _iso(self.expires_at),
        }
        return {key: value for key, value in shown.items() if value is not None}


class JobStore:
    """The jobs table in `folder/jobs.sqlite3`, and each job's own folder beside it."""

    def __init__(self, folder: str | Path, clock: Callable[[], float] = time.time):
        """`clock` gives the time (Unix seconds); tests pass one they can move forward."""
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        with self._database() as db:
            # WAL: readers (the status endpoint) never wait for the writer (the worker).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    @contextmanager
    def _database(self) -> Iterator[sqlite3.Connection]:
        """A connection for one step, closed after it. Autocommit: each statement commits,
        unless a `BEGIN` groups several. A connection per step is safe across threads and
        forked processes, and costs microseconds next to a training."""
        connection = sqlite3.connect(self.folder / DATABASE, timeout=10, isolation_level=None)
        connection.row_factory = sqlite3.Row
        with closing(connection):
            yield connection

    def folder_of(self, job_id: str) -> Path:
        """Where a job keeps its files: the ratings it was sent, the model it trains."""
        return self.folder / job_id

    # --- the web app's side -------------------------------------------------------------------

    def create(
        self,
        request: dict[str, Any],
        served_model: str,
        time_limit: float,
        ttl: float,
        max_queued: int,
        retry_of: str | None = None,
    ) -> Job:
        """A new queued job; `QueueFull` when `max_queued` jobs are waiting already."""
        job = Job(
            id=uuid.uuid4().hex,
            status=QUEUED,
            request=request,
            served_model=served_model,
            time_limit=time_limit,
            ttl=ttl,
            created_at=self.clock(),
            retry_of=retry_of,
        )
        with self._database() as db:
            # IMMEDIATE takes the write lock before counting: two requests at once cannot both
            # see one free place and both take it.
            db.execute("BEGIN IMMEDIATE")
            waiting = db.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", [QUEUED])
            if waiting.fetchone()[0] >= max_queued:
                db.execute("ROLLBACK")
                raise QueueFull(f"{max_queued} jobs are waiting already")
            db.execute(
                "INSERT INTO jobs (id, status, request, served_model, time_limit, ttl, "
                "created_at, retry_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [job.id, job.status, json.dumps(request), served_model, time_limit, ttl,
                 job.created_at, retry_of],
            )  # fmt: skip
            db.execute("COMMIT")
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, or None when there is no such job or it has expired."""
        with self._database() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)",
                [job_id, self.clock()],
            ).fetchone()
        return None if row is None else _job(row)

    def position(self, job_id: str) -> int:
        """1 for the next queued job to run, 2 for the one after it, ..."""
        with self._database() as db:
            return db.execute(
                "SELECT COUNT(*) FROM jobs WHERE status = ? AND created_at <= "
                "(SELECT created_at FROM jobs WHERE id = ?)",
                [QUEUED, job_id],
            ).fetchone()[0]

    def queued(self) -> list[str]:
        """The ids of the waiting jobs, oldest first."""
        with self._database() as db:
            rows = db.execute("SELECT id FROM jobs WHERE status = ? ORDER BY created_at", [QUEUED])
            return [row["id"] for row in rows]

    # --- the worker's side --------------------------------------------------------------------

    def start(self, job_id: str, worker_pid: int) -> Job | None:
        """Mark a queued job running; None if it is not queued (gone, or already handled)."""
        with self._database() as db:
            changed = db.execute(
                "UPDATE jobs SET status = ?, started_at = ?, worker_pid = ? "
                "WHERE id = ? AND status = ?",
                [RUNNING, self.clock(), worker_pid, job_id, QUEUED],
            ).rowcount
        return self.get(job_id) if changed else None

    def report(self, job_id: str, progress: dict[str, Any]) -> None:
        """Record which step a running job has reached."""
        with self._database() as db:
            db.execute(
                "UPDATE jobs SET progress = ? WHERE id = ? AND status = ?",
                [json.dumps(progress), job_id, RUNNING],
            )

    def succeed(self, job_id: str, result: dict[str, Any]) -> None:
        self._finish(job_id, SUCCEEDED, result=json.dumps(result))

    def fail(self, job_id: str, reason: str) -> bool:
        """Mark a queued or running job failed with `reason`; False if it had ended already."""
        return self._finish(job_id, FAILED, error=reason)

    def fail_running(self, reason: str) -> list[str]:
        """Mark every running job failed: what a worker does when it starts, since the only
        worker that could be running them is gone. Returns their ids."""
        with self._database() as db:
            rows = db.execute("SELECT id FROM jobs WHERE status = ?", [RUNNING]).fetchall()
        return [row["id"] for row in rows if self.fail(row["id"], reason)]

    def _finish(self, job_id: str, status: str, result: str | None = None, error=None) -> bool:
        now = self.clock()
        with self._database() as db:
            return bool(
                db.execute(
                    "UPDATE jobs SET status = ?, finished_at = ?, expires_at = ? + ttl, "
                    "result = ?, error = ? WHERE id = ? AND status IN (?, ?)",
                    [status, now, now, result, error, job_id, QUEUED, RUNNING],
                ).rowcount
            )

    # --- expiry -------------------------------------------------------------------------------

    def expire(self, served: Iterable[str] = ()) -> list[str]:
        """Delete the jobs whose time is up, with their folders; returns their ids.

        A job's folder holds only that job's input and its own copy of the model: a promoted
        model was saved as a new version of the served model, elsewhere. If a server was pointed
        at a model inside a job's folder all the same, that folder is kept: the models of
        `served`, and every model a job recorded as served, are never deleted.
        """
        with self._database() as db:
            expired = [row["id"] for row in db.execute(
                "SELECT id FROM jobs WHERE expires_at <= ?", [self.clock()])]  # fmt: skip
            recorded = [row[0] for row in db.execute("SELECT DISTINCT served_model FROM jobs")]
        protected = [Path(os.path.realpath(model)) for model in [*served, *recorded]]
        for job_id in expired:
            folder = Path(os.path.realpath(self.folder_of(job_id)))
            if not any(model.is_relative_to(folder) for model in protected):
                shutil.rmtree(folder, ignore_errors=True)
            with self._database() as db:
                db.execute("DELETE FROM jobs WHERE id = ?", [job_id])
        return expired


def _job(row: sqlite3.Row) -> Job:
    values = dict(row)
    for column in ("request", "progress", "result"):
        values[column] = json.loads(values[column]) if values[column] else None
    return Job(**values)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
