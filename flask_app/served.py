"""The model the server answers with, and how a newer one replaces it while the server runs.

`save_model` (the command line, `make retrain`, a training job's promotion) writes a new model
beside the old one, then swaps the link `models/default` in one atomic step. Every request asks
`ModelSwapper.latest()` where that link points now, a couple of system calls: when it points
somewhere new, this worker loads the new model and its rankings, and replaces the old ones
*as one object*. Each request takes that object once (into `flask.g`), so every answer comes
wholly from one model, even while another request triggers a swap, and says which one in its
`X-Model-Version` header.

Under gunicorn each worker swaps on its own, at its next request: for a moment two workers may
answer from different models, never one answer from both. A new model that cannot be loaded is
refused (the log says why, once) and the current one keeps serving. An MLflow model URI has no
link to watch: restart the server to pick up a new champion.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from flask import Flask, Response, g

from flask_app import rankings
from movierec.errors import ModelLoadError
from movierec.recommender import MAX_K, Recommender
from movierec.serving import is_mlflow_uri, load_for_serving


class ServedModel(NamedTuple):
    """A model and everything computed from it: replaced together, never one part alone."""

    recommender: Recommender
    rankings: dict[int, list[dict[str, Any]]]  # each user's top MAX_K (flask_app/rankings.py)
    folder: str | None  # the model folder it was loaded from; None for an MLflow URI
    load_seconds: float = 0.0  # loading and ranking took this long (a metric, lecture 8)


def load_served_model(location: str) -> ServedModel:
    """Load the model at `location` and rank every user's movies (raises `ModelLoadError`)."""
    started = time.perf_counter()
    folder = None if is_mlflow_uri(location) else os.path.realpath(location)
    recommender = load_for_serving(location)
    ranked = rankings.rank_every_user(recommender, MAX_K)
    return ServedModel(recommender, ranked, folder, time.perf_counter() - started)


class ModelSwapper:
    """Holds the served model; `latest()` replaces it when the model location changed."""

    def __init__(self, location: str, log: logging.Logger):
        """Load the model at `location` now (raises `ModelLoadError`: the server cannot start)."""
        self.location = location
        self.log = log
        self.served = load_served_model(location)
        self._watch = self.served.folder is not None
        self._refused: str | None = None  # a new folder that failed to load: not tried again
        self._lock = threading.Lock()  # a threaded server: one thread loads, the others wait

    def latest(self) -> ServedModel:
        """The newest model saved at the location, loading it first if it is new to us."""
        if not self._watch:
            return self.served
        folder = os.path.realpath(self.location)  # where the link points now: microseconds
        if folder not in (self.served.folder, self._refused):
            with self._lock:
                if folder != self.served.folder:  # another thread may have swapped meanwhile
                    self._swap(folder)
        return self.served

    def _swap(self, folder: str) -> None:
        old = self.served.recommender.version
        try:
            # If the link moves again while this loads, the next request sees it and loads again.
            new = load_served_model(self.location)._replace(folder=folder)
        except ModelLoadError as error:
            self._refused = folder
            self.log.error("not swapping to %s, still serving %s: %s", folder, old, error)
            return
        self.served = new  # one assignment: a request sees the old object or the new, never half
        self._refused = None
        self.log.info("swapped model %s for %s (%s)", old, new.recommender.version, Path(folder))


def register(app: Flask, swapper: ModelSwapper) -> None:
    """Give every request the latest model, and say in a header which model answered."""
    app.extensions["model"] = swapper

    @app.before_request
    def take_the_latest_model() -> None:
        g.served = swapper.latest()

    app.after_request(add_model_version)


def served_model() -> ServedModel:
    """The model this request answers with (the same object for the whole request)."""
    return g.served


def add_model_version(response: Response) -> Response:
    """`X-Model-Version` on every answer: which model produced it (errors included)."""
    if "served" in g:
        response.headers["X-Model-Version"] = g.served.recommender.version
    return response
