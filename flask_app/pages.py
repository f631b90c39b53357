"""The one HTML page: pick a user, see their recommendations (fetched from the JSON API); or
rate a few movies as a newcomer and get recommendations for those ratings."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, render_template

from flask_app.served import served_model
from movierec.recommender import Recommender

bp = Blueprint("pages", __name__)

MOVIES_TO_RATE = 12  # enough for a taste, few enough to rate in a minute


@bp.get("/")
def index() -> str:
    """The page itself holds no data: static/app.js calls /health, /recommend and
    /recommend/for-ratings."""
    recommender = served_model().recommender
    users = recommender.users.raw_ids
    low, high = recommender.rating_range
    return render_template(
        "index.html",
        # The known user ids feed the input's suggestion list; the first one is pre-filled.
        user_ids=users.tolist(),
        first_user=int(users[0]),
        to_rate=most_rated(recommender, MOVIES_TO_RATE),
        stars=range(math.ceil(low), math.floor(high) + 1),
    )


def most_rated(recommender: Recommender, n: int) -> list[dict[str, Any]]:
    """The `n` movies rated most often in training: the ones a newcomer has most likely seen."""
    counts = recommender.rated.item_id.value_counts(sort=True).head(n)
    return [{"item_id": int(item), "title": (recommender.movie(int(item)) or {}).get("title", "")}
            for item in counts.index]  # fmt: skip
