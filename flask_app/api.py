"""The JSON API: /health, /recommend, /predict and /movies/<item_id> (contract: README.md).

Each view reads its input through `flask_app.inputs`, asks the served model (a `Recommender`
and the rankings computed from it, see `flask_app.served`), and returns a dict that Flask turns
into JSON. Errors are raised with `abort` and rendered as JSON by `flask_app.errors`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort

from flask_app import inputs
from flask_app.served import served_model
from movierec.errors import UnknownUserError
from movierec.recommender import DEFAULT_K, MAX_K, Recommender

bp = Blueprint("api", __name__)

MAX_PREDICT_ITEMS = 1000  # about 10 KB of JSON: far below the 64 KiB body limit


def _recommender() -> Recommender:
    """The model this request answers with (loaded once, shared by every request)."""
    return served_model().recommender


@bp.get("/health")
def health() -> dict[str, Any]:
    """Is the server up, and which model does it serve? Cheap enough for a load balancer."""
    recommender = _recommender()
    metadata = recommender.metadata
    return {
        "status": "ok",
        "model": metadata.get("location"),
        "source": metadata.get("source"),  # "native" (a model directory) or "mlflow"
        "version": recommender.version,  # the model's short id (movierec.model.model_version)
        "dataset": (metadata.get("dataset") or {}).get("name"),
        "created_at": metadata.get("created_at"),  # when the model was trained
        "movierec_version": (metadata.get("versions") or {}).get("movierec"),
        "n_users": len(recommender.users),
        "n_items": len(recommender.items),
    }


@bp.get("/recommend")
def recommend() -> dict[str, Any]:
    """The top-k movies for a user, best first, none of which the user has already rated."""
    # BEGIN SOLUTION A3.1: read user_id and k (a 400 if bad), 404 for an unknown user, top k
    user_id = inputs.query_int("user_id")
    k = inputs.query_int("k", default=DEFAULT_K, low=1, high=MAX_K)
    # Each user's top MAX_K was ranked when the model was loaded (flask_app/rankings.py).
    ranking = served_model().rankings.get(user_id)
    if ranking is None:
        abort(404, description=str(UnknownUserError(user_id)))
    return {"user_id": user_id, "recommendations": ranking[:k]}
    # END SOLUTION


@bp.post("/predict")
def predict() -> dict[str, Any]:
    """Predicted ratings of one user for a list of movies, in the order they were asked for."""
    body = inputs.json_object()
    user_id = inputs.field_int(body, "user_id")
    item_ids = inputs.field_ids(body, "item_ids", MAX_PREDICT_ITEMS)
    recommender = _recommender()
    if user_id not in recommender.users:
        abort(404, description=str(UnknownUserError(user_id)))
    # A movie of the catalogue that had no training rating still gets a (bias-only) prediction;
    # an id that is not in the catalogue at all is most likely a mistake, so say so (the CLI's
    # `predict` refuses the same ids).
    known = recommender.in_catalogue(item_ids)
    if not known.all():
        unknown = [item for item, ok in zip(item_ids, known, strict=True) if not ok]
        more = " ..." if len(unknown) > 5 else ""
        abort(404, description=f"unknown movie id(s): {unknown[:5]}{more}")
    ratings = recommender.predict([user_id] * len(item_ids), item_ids)
    return {
        "user_id": user_id,
        "predictions": [
            {"item_id": item_id, "rating": float(rating)}
            for item_id, rating in zip(item_ids, ratings, strict=True)
        ],
    }


@bp.get("/movies/<item_id>")
def movie(item_id: str) -> dict[str, Any]:
    """A movie's title and genres. The id is parsed here, so "abc" gets a 400, not a 404."""
    movie_id = inputs.parse_int(item_id, "item_id")
    details = _recommender().movie(movie_id)
    if details is None:
        abort(404, description=f"unknown movie {movie_id}: it is not in the model's catalogue")
    return details
