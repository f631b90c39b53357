"""The one HTML page: pick a user, see their recommendations (fetched from the JSON API)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """The page itself holds no data: static/app.js calls /health and /recommend."""
    users = current_app.extensions["recommender"].users.raw_ids
    # The known user ids feed the input's suggestion list; the first one is pre-filled.
    return render_template("index.html", user_ids=users.tolist(), first_user=int(users[0]))
