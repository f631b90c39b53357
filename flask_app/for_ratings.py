"""POST /recommend/for-ratings: recommendations for someone the model was not trained on.

A newcomer sends a few ratings and gets a top-k at once: their taste is folded into the served
model (`Recommender.recommend_for_ratings`); nothing is retrained, nothing is stored. Three ways
to send the ratings, with `?k=` as for /recommend:

    JSON     {"ratings": [{"item_id": 50, "rating": 5}, {"item_id": 172, "rating": 4}]}
    a file   the form field `ratings`: one person's ratings in MovieLens' CSV format
    a URL    {"url": "https://example.com/my-ratings.csv"}: that file, fetched by the server

This endpoint has a body limit of its own, MAX_BODY, above the API's 64 KiB so that a file fits;
deploy/nginx/movierec.conf allows the same size for this path, and a URL's file the same again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from flask_app import inputs, ratings_input
from flask_app.served import served_model
from movierec.errors import FoldInError
from movierec.recommender import DEFAULT_K, MAX_K

bp = Blueprint("for_ratings", __name__)

MAX_BODY = 512 * 1024  # bytes: a request body, or a file fetched from a URL
MAX_RATINGS = 5_000  # more than anyone rates by hand; a whole catalogue needs no fold-in
SHAPES = (
    'send JSON {"ratings": [{"item_id": 50, "rating": 5}, ...]} or {"url": "https://..."}, '
    "or a CSV file as the form field ratings"
)


@bp.post("/recommend/for-ratings")
def recommend_for_ratings() -> dict[str, Any]:
    """The k best movies for the ratings sent, none of the rated ones among them."""
    request.max_content_length = MAX_BODY  # before anything reads the body
    k = inputs.query_int("k", default=DEFAULT_K, low=1, high=MAX_K)
    ratings = _ratings()
    recommender = served_model().recommender
    ratings_input.check_scale(ratings, recommender.rating_range, MAX_RATINGS)
    try:
        best = recommender.recommend_for_ratings(ratings, k)
    except FoldInError as error:
        abort(422, description=str(error))
    return {
        "recommendations": [r._asdict() for r in best],
        # Movies the model never saw say nothing about taste: they were left out, and say so.
        "ignored_item_ids": [item for item in ratings if item not in recommender.items],
    }


def _ratings() -> dict[int, float]:
    """{movie id: rating} from whichever of the three shapes the request holds."""
    if request.mimetype not in ("application/json", "multipart/form-data"):
        abort(415, description=SHAPES)
    upload = ratings_input.uploaded_file()
    if upload is not None:
        return _from_file(upload, "the uploaded file")
    body = inputs.json_object()
    if set(body) == {"ratings"}:
        return ratings_input.json_pairs(body["ratings"], MAX_RATINGS)
    if set(body) == {"url"}:
        return _from_file(ratings_input.fetched_file(body["url"], MAX_BODY), "the file at the URL")
    abort(400, description=SHAPES)


def _from_file(content: bytes, shown_as: str) -> dict[int, float]:
    ratings = ratings_input.checked_ratings(content, shown_as)
    return ratings_input.one_persons_ratings(ratings, shown_as)
