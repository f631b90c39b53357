"""Store mode: /health and /recommendations/<user_id>, answered from a recommendation store.

`python -m movierec batch` wrote each user's top-k into one SQLite file (`movierec.store`); here a
request is one indexed lookup in it. No model is loaded and torch is never imported, so a worker
starts in a fraction of a second and needs a fraction of the memory (lecture 7). When the batch
job swaps in a new store, the next request of each thread reads it: no restart.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app

from flask_app import inputs
from movierec.errors import StoreError
from movierec.limits import DEFAULT_K, MAX_K
from movierec.store import RecommendationStore, StoreFile

bp = Blueprint("store", __name__)

API_SUMMARY = "GET /health, GET /recommendations/1?k=5"


def init_app(app: Flask) -> None:
    """Open the store named by MOVIEREC_STORE and register the endpoints that read it.

    Exits (`SystemExit`, one line) when there is no store there, as a missing model does.
    """
    try:
        app.extensions["store"] = RecommendationStore(app.config["MOVIEREC_STORE"])
    except StoreError as error:
        raise SystemExit(f"error: cannot serve: {error}") from None
    app.extensions["api_summary"] = API_SUMMARY  # what a 404 for an unknown URL lists
    app.register_blueprint(bp)


def _current() -> StoreFile:
    """The store file at MOVIEREC_STORE now: a new one after each swap (503 if it vanished)."""
    try:
        return current_app.extensions["store"].current()
    except StoreError as error:
        abort(503, description=str(error))


@bp.get("/health")
def health() -> dict[str, Any]:
    """Is the server up, and which model's answers does its store hold?"""
    about = _current().about
    return {
        "status": "ok",
        "store": str(current_app.extensions["store"].path),
        "source": "store",
        "version": about["model_version"],  # the model the lists came from, as /health says it
        "model": about.get("model"),
        "dataset": about.get("dataset"),
        "created_at": about.get("trained_at"),  # when that model was trained
        "stored_at": about.get("stored_at"),  # when the batch job wrote the store
        "k": about["k"],
        "n_users": about.get("n_users"),
        "n_items": about.get("n_items"),
    }


@bp.get("/recommendations/<user_id>")
def recommendations(user_id: str) -> dict[str, Any]:
    """A user's top-k as /recommend answers it, plus the version of the model it came from."""
    user = inputs.parse_int(user_id, "user_id")
    file = _current()  # one file for the whole answer: the list and its version agree
    k = inputs.query_int("k", default=min(DEFAULT_K, file.k), low=1, high=MAX_K)
    if k > file.k:
        abort(400, description=f"k must be at most {file.k}: the store holds each user's top "
              f"{file.k} (`python -m movierec batch -k N` stores more), got {k}")  # fmt: skip
    found = file.recommendations(user, k)
    if found is None:
        abort(404, description=f"unknown user {user}: the store holds no recommendations for "
              "them (the model was not trained on any rating of theirs)")  # fmt: skip
    return {"user_id": user, "recommendations": found, "model_version": file.model_version}
