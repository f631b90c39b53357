"""What one training job does, from its recorded request to a saved (maybe promoted) model.

    1. read the ratings       a named dataset, or the file the job was sent with
    2. train and measure      `movierec.pipeline.train_and_evaluate`, as every caller trains
    3. save                   the job's own copy, in its folder (jobs/<id>/model)
    4. compare and promote    `movierec.promotion.decide`, the one rule: only a lower hold-out
                              RMSE on the same data and hold-out replaces the served model,
                              saved with `save_model` (a new version, then one atomic swap of
                              the link, which running servers pick up at their next request)

Each way a job can end is written to the jobs table: succeeded with its facts, or failed with
the reason. Promotion is the last step, so a job that fails never touches the served model.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huey.exceptions import TaskTimeout

from movierec import promotion
from movierec.data import Dataset, dataset_from_files, load_dataset
from movierec.errors import DataError, ModelLoadError, ModelSaveError, TrainingError
from movierec.hyperparameters import TrainConfig
from movierec.persist import read_metadata, save_model
from movierec.pipeline import Holdout, train_and_evaluate
from movierec.recommender import Recommender
from movierec.serving import is_mlflow_uri
from training_service.jobs import Job, JobStore

RATINGS_FILE = "ratings.csv"  # a job sent with its own ratings keeps them under this name
PROMOTIONS_LOG = "promotions.jsonl"  # one line per decision; kept when jobs expire
# The same hold-out for every job: models compare only when measured on the same ratings.
HOLDOUT = Holdout()
STEPS = ["reading the ratings", "training and measuring", "saving the model",
         "comparing with the served model"]  # fmt: skip
# Failures with a message a user can act on: shown as they are.
EXPECTED = (DataError, TrainingError, ModelSaveError, ValueError)

log = logging.getLogger(__name__)

# Set in a worker process told to stop (SIGTERM) in the middle of a job. systemd and `kill` on
# the process group signal the child before huey's main process sets its stop flag, so the child
# may take one more job off the queue: it must not start it. That job's row stays queued, and
# the next worker queues it again (`TrainingQueue.requeue_lost`).
_stopping = threading.Event()


def run_job(jobs: JobStore, job_id: str) -> None:
    """Run a queued job and record how it ended; called by the worker for each job."""
    if _stopping.is_set():
        log.info("job %s: left queued for the next worker (this one is stopping)", job_id)
        return
    job = jobs.start(job_id, os.getpid())
    if job is None:
        return  # expired, or failed meanwhile (its worker was presumed dead): nothing to do
    log.info("job %s: started %s", job_id, job.request)
    try:
        result = train_for(job, jobs)
    except TaskTimeout:
        _failed(jobs, job_id, f"it ran longer than its time limit of {job.time_limit:g} s")
    except KeyboardInterrupt:  # the worker is stopping (SIGTERM): say so, then let it stop
        _stopping.set()
        _failed(jobs, job_id, "the worker was stopped while it ran; retry the job")
        raise
    except EXPECTED as error:
        _failed(jobs, job_id, str(error))
    except Exception as error:  # a bug: the reason for the client, the traceback for us
        log.exception("job %s: unexpected error", job_id)
        _failed(jobs, job_id, f"unexpected error ({type(error).__name__}: {error}); see the log")
    else:
        jobs.succeed(job_id, result)
        log.info("job %s: succeeded, %s", job_id, result["promotion"]["reason"])


def train_for(job: Job, jobs: JobStore) -> dict[str, Any]:
    """Steps 1 to 4 for `job`; returns what the status endpoint shows once it has succeeded."""
    folder = jobs.folder_of(job.id)

    def step(number: int) -> None:
        jobs.report(job.id, {"step": number, "of": len(STEPS), "doing": STEPS[number - 1]})

    step(1)
    dataset = job_dataset(job.request, folder)
    config = TrainConfig(**job.request.get("hyperparameters", {}))
    step(2)
    trained = train_and_evaluate(dataset, config, HOLDOUT, refit=True, progress=False)
    step(3)
    model = save_model(trained.recommender, folder / "model")
    step(4)
    decision = promote_if_better(trained.recommender, job, jobs.folder / PROMOTIONS_LOG)
    return {
        "dataset": trained.recommender.metadata["dataset"],
        "metrics": trained.metrics,
        "model": {"location": str(model), "version": trained.recommender.version},
        "promotion": decision,
    }


def job_dataset(request: dict[str, Any], folder: Path) -> Dataset:
    """The ratings a job trains on: a dataset by name, or the file it was sent with."""
    if "dataset" in request:
        return load_dataset(request["dataset"])
    return dataset_from_files(folder / RATINGS_FILE)


def promote_if_better(candidate: Recommender, job: Job, log_file: Path) -> dict[str, Any]:
    """Replace the served model with `candidate` if the one rule says so; record the decision."""
    served = job.served_model
    if is_mlflow_uri(served):
        decision = promotion.Decision(
            False, "the server serves an MLflow model: promote through the registry (lecture 4)"
        )
    else:
        try:
            champion = read_metadata(served) if Path(served).exists() else None
        except ModelLoadError as error:
            decision = promotion.Decision(False, f"the served model cannot be read ({error})")
        else:
            decision = promotion.decide(candidate.metadata, champion)
    if decision.promote:
        # The served model itself says why it is there.
        candidate.metadata["promotion"] = {"job_id": job.id, "reason": decision.reason,
                                           "at": _now()}  # fmt: skip
        save_model(candidate, served)
    record = {"at": _now(), "job_id": job.id, "version": candidate.version, "served_model": served,
              "promoted": decision.promote, "reason": decision.reason}  # fmt: skip
    with open(log_file, "a") as promotions:
        promotions.write(json.dumps(record) + "\n")
    return {"promoted": decision.promote, "reason": decision.reason, "served_model": served}


def _failed(jobs: JobStore, job_id: str, reason: str) -> None:
    jobs.fail(job_id, reason)
    log.warning("job %s: failed: %s", job_id, reason)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
