"""Training as a service: POST /train queues a job, GET /train/status/<id> follows it.

    POST /train               JSON {"dataset": "ml-100k", "hyperparameters": {"epochs": 20}},
                              or {"ratings_url": "https://...", "hyperparameters": ...},
                              or a form upload: -F ratings=@file.csv -F 'hyperparameters={...}'
                              → 202 Accepted {"id", "status": "queued"}, Location: its status URL
    GET  /train/status/<id>   queued (and whether a worker runs) / running (which step) /
                              succeeded (metrics, the model, the promotion) / failed (why)
    POST /train/<id>/retry    a failed job once more, as a new job: jobs are never retried
                              by themselves

Each endpoint needs an API key (flask_app/auth.py). The training runs in the worker
(training_service/worker.py), one job at a time, fed by the queue; this module only checks,
records and queues. Ratings sent with a job pass the checks of flask_app/ratings_input.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from typing import Any

from flask import Blueprint, Flask, abort, current_app, request, url_for

from flask_app import inputs, ratings_input
from flask_app.auth import require_api_key
from movierec.download import DATASETS
from movierec.hyperparameters import TrainConfig
from movierec.locations import jobs_dir
from movierec.serving import is_mlflow_uri
from training_service.job import RATINGS_FILE
from training_service.jobs import FAILED, QUEUED, RUNNING, Job, JobStore, QueueFull
from training_service.queue import TrainingQueue
from training_service.worker import worker_is_running

bp = Blueprint("training", __name__)

MAX_BODY = 8 * 1024 * 1024  # bytes: an uploaded ratings file (ML-100K's u.data is 2 MB)
# Settings a client may choose, and their bounds: enough to experiment, not enough to keep a
# small server busy for hours (a job's time limit stops it anyway). Every setting of the taught
# model's TrainConfig, each within the range its schema allows (a test checks both).
INTEGER_SETTINGS = {"n_factors": (1, 256), "epochs": (1, 200), "batch_size": (16, 65_536),
                    "patience": (1, 20), "seed": (0, 2**31 - 1)}  # fmt: skip
NUMBER_SETTINGS = {"learning_rate": (1e-5, 1.0), "l2": (0.0, 10.0), "movie_l2": (0.0, 100.0),
                   "valid_fraction": (0.01, 0.5)}  # fmt: skip
JOB_ID = re.compile(r"[0-9a-f]{32}")
START_WORKER = "no worker is running: start one with `make worker` (or the movierec-worker unit)"
WORKER_DIED = "its worker stopped while it ran (killed or crashed); retry the job if you want"


def register(app: Flask) -> None:
    """The training settings' defaults, and the jobs table and queue when training is on."""
    app.config.setdefault("JOBS_DIR", str(jobs_dir()))
    app.config.setdefault("TRAINING_QUEUE_SIZE", 5)  # jobs waiting; one more gets a 429
    app.config.setdefault("TRAINING_TIME_LIMIT", 30 * 60)  # seconds of training per job
    app.config.setdefault("JOB_TTL", 7 * 24 * 3600)  # seconds a finished job is kept
    if app.extensions["api_keys"].digests:  # training off: no files, no queue
        app.extensions["training_queue"] = TrainingQueue(app.config["JOBS_DIR"])
    app.register_blueprint(bp)


def _queue() -> TrainingQueue:
    return current_app.extensions["training_queue"]


# --- POST /train ------------------------------------------------------------------------------


@bp.post("/train")
@require_api_key
def submit() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Check the request, record the job, queue it: 202 with where to follow it."""
    request.max_content_length = MAX_BODY  # this endpoint's own limit, before the body is read
    job_request, ratings = _job_request()
    jobs = _queue().jobs
    jobs.expire(served=[_served_model()])  # let old jobs go now: cheap, and no worker needed
    try:
        job = jobs.create(job_request, _served_model(), **_limits())
    except QueueFull as full:
        abort(429, description=f"the training queue is full ({full}): try again later",
              retry_after=60)  # fmt: skip
    if ratings is not None:
        jobs.folder_of(job.id).mkdir()
        (jobs.folder_of(job.id) / RATINGS_FILE).write_bytes(ratings)
    _queue().submit(job.id, job.time_limit)
    return _accepted(job)


def _job_request() -> tuple[dict[str, Any], bytes | None]:
    """(what the job is asked to do, the ratings file it was sent, if any)."""
    upload = ratings_input.uploaded_file()
    if upload is not None:
        settings = _settings_from_form()
        ratings_input.checked_ratings(upload, "the uploaded file")
        return {"ratings": "uploaded", "hyperparameters": settings}, upload
    body = inputs.json_object()
    unknown = set(body) - {"dataset", "ratings_url", "hyperparameters"}
    if unknown or ("dataset" in body) == ("ratings_url" in body):
        abort(400, description='send {"dataset": "<name>"} or {"ratings_url": "https://..."}, '
                               'optionally with "hyperparameters": {...}')  # fmt: skip
    settings = hyperparameters(body.get("hyperparameters", {}))
    if "dataset" in body:
        if body["dataset"] not in DATASETS:
            abort(400, description=f"dataset must be one of {', '.join(DATASETS)}, "
                                   f"got {inputs.shown(body['dataset'])}")  # fmt: skip
        return {"dataset": body["dataset"], "hyperparameters": settings}, None
    content = ratings_input.fetched_file(body["ratings_url"], MAX_BODY)
    ratings_input.checked_ratings(content, "the file at ratings_url")
    return {"ratings": body["ratings_url"], "hyperparameters": settings}, content


def _settings_from_form() -> dict[str, Any]:
    """The form field `hyperparameters` of an upload: a JSON object, like the JSON body's."""
    text = request.form.get("hyperparameters", "{}")
    try:
        return hyperparameters(json.loads(text))
    except (ValueError, RecursionError):
        abort(400, description="the form field hyperparameters must be a JSON object")


def hyperparameters(given: Any) -> dict[str, Any]:
    """The settings asked for, each checked against its bounds (the rest keep their defaults)."""
    if not isinstance(given, dict):
        abort(400, description=f"hyperparameters must be a JSON object, got {inputs.shown(given)}")
    allowed = INTEGER_SETTINGS | NUMBER_SETTINGS
    for name, value in given.items():
        if name not in allowed:
            abort(400, description=f"unknown setting {inputs.shown(name)}: choose among "
                                   f"{', '.join(allowed)}")  # fmt: skip
        low, high = allowed[name]
        kind = "an integer" if name in INTEGER_SETTINGS else "a number"
        right_type = inputs.is_int(value) if name in INTEGER_SETTINGS else inputs.is_number(value)
        if not right_type or not low <= value <= high:
            abort(400, description=f"{name} must be {kind} from {low:,} to {high:,}, "
                                   f"got {inputs.shown(value)}")  # fmt: skip
    try:
        TrainConfig(**given)  # the rules of the settings themselves, e.g. learning_rate > 0
    except ValueError as error:
        abort(400, description=str(error))
    return given


def _served_model() -> str:
    """The model a job may replace: the one this server serves, as an absolute path (the worker
    runs in another folder)."""
    location = current_app.config["MOVIEREC_MODEL"]
    return location if is_mlflow_uri(location) else os.path.abspath(location)


def _limits() -> dict[str, Any]:
    config = current_app.config
    return {"time_limit": config["TRAINING_TIME_LIMIT"], "ttl": config["JOB_TTL"],
            "max_queued": config["TRAINING_QUEUE_SIZE"]}  # fmt: skip


def _accepted(job: Job) -> tuple[dict[str, Any], int, dict[str, str]]:
    status_url = url_for("training.status", job_id=job.id)
    body = {"id": job.id, "status": job.status, "status_url": status_url}
    return body, 202, {"Location": status_url}


# --- GET /train/status/<id> -------------------------------------------------------------------


@bp.get("/train/status/<job_id>")
@require_api_key
def status(job_id: str) -> dict[str, Any]:
    """Where a job is, from the jobs table (never from the queue, which forgets)."""
    jobs = _queue().jobs
    job = _job(jobs, job_id)
    worker = worker_is_running(jobs.folder)
    if job.status == RUNNING and not worker:
        # The table says running, yet no worker holds the lock: it died with the job.
        jobs.fail(job.id, WORKER_DIED)
        job = _job(jobs, job_id)
    shown = job.describe()
    if job.status == QUEUED:
        shown["position"] = jobs.position(job.id)
        shown["worker"] = "running" if worker else START_WORKER
    if job.status == FAILED:
        shown["retry"] = f"POST {url_for('training.retry', job_id=job.id)}"
    return shown


def _job(jobs: JobStore, job_id: str) -> Job:
    job = jobs.get(job_id) if JOB_ID.fullmatch(job_id) else None
    if job is None:
        days = current_app.config["JOB_TTL"] / 86400
        abort(404, description=f"no job {inputs.shown(job_id)} (a finished job is kept "
                               f"{days:g} days)")  # fmt: skip
    return job


# --- POST /train/<id>/retry -------------------------------------------------------------------


@bp.post("/train/<job_id>/retry")
@require_api_key
def retry(job_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Run a failed job again, as a new job with the same request (and the same ratings)."""
    jobs = _queue().jobs
    old = _job(jobs, job_id)
    if old.status != FAILED:
        abort(409, description=f"only a failed job can be retried; this one is {old.status}")
    try:
        job = jobs.create(old.request, old.served_model, **_limits(), retry_of=old.id)
    except QueueFull as full:
        abort(429, description=f"the training queue is full ({full}): try again later",
              retry_after=60)  # fmt: skip
    sent = jobs.folder_of(old.id) / RATINGS_FILE
    if sent.exists():
        jobs.folder_of(job.id).mkdir()
        shutil.copy(sent, jobs.folder_of(job.id) / RATINGS_FILE)
    _queue().submit(job.id, job.time_limit)
    return _accepted(job)
