"""The recommender inside TorchServe: `{"user_id": U, "k": K}` in, Flask's /recommend answer out.

torch-model-archiver packs this file together with a model directory's four files into a `.mar`
(`make mar`, see deploy/torchserve/archive.py). TorchServe unpacks the archive into a folder,
creates one `RecommendationHandler` per worker, calls `initialize` once, then `handle` for every
batch of requests. The module holds exactly one class: TorchServe refuses a handler with more.
The handler imports this repository's packages (`pip install -e .` in TorchServe's Python).
"""

from __future__ import annotations

from typing import Any

from ts.utils.util import PredictionException

from flask_app.rankings import rank_every_user
from movierec.errors import UnknownUserError
from movierec.persist import load_model
from movierec.recommender import DEFAULT_K, MAX_K

# The same bounds as the Flask API (flask_app/inputs.py): MovieLens ids start at 1, and a
# 32-bit database column holds the largest.
ID_MIN, ID_MAX = 1, 2**31 - 1


class RecommendationHandler:
    """Loads the model once per worker; answers each request with the user's top-k movies."""

    def __init__(self) -> None:
        self.rankings: dict[int, list[dict[str, Any]]] = {}

    def initialize(self, context: Any) -> None:
        """Load the model TorchServe unpacked, and rank every user's movies once, as the Flask
        app does (flask_app/rankings.py): the model never changes while the server runs, so a
        request only slices a list, and both servers do the same work per request."""
        recommender = load_model(context.system_properties["model_dir"])
        self.rankings = rank_every_user(recommender, MAX_K)

    def handle(self, data: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
        """One answer per request of the batch, in order (TorchServe's contract).

        A bad request raises `PredictionException(message, 400)`: TorchServe answers that status
        and message. Any other exception would become a vague 503 "Prediction failed".
        """
        answers = [self.recommend(request_body(request)) for request in data]
        for index in range(len(answers)):  # TorchServe labels a success with no content type
            context.set_response_content_type(index, "application/json")
        return answers

    def recommend(self, body: Any) -> dict[str, Any]:
        """`{"user_id": U, "recommendations": [{"item_id", "title", "score"}, ...]}`, as Flask."""
        if not isinstance(body, dict):
            raise PredictionException(
                'send a JSON object such as {"user_id": 1, "k": 10}, '
                "with the header Content-Type: application/json",
                400,
            )
        user_id = integer_field(body, "user_id", ID_MIN, ID_MAX)
        k = integer_field(body, "k", 1, MAX_K, default=DEFAULT_K)
        ranking = self.rankings.get(user_id)
        if ranking is None:
            raise PredictionException(str(UnknownUserError(user_id)), 404)
        return {"user_id": user_id, "recommendations": ranking[:k]}


def request_body(request: dict[str, Any]) -> Any:
    """The body of one request: TorchServe has already parsed it if it was labelled JSON."""
    body = request.get("body", request.get("data"))
    if isinstance(body, (bytes, bytearray)):  # not JSON, or not labelled as JSON
        raise PredictionException(
            "the body is not valid JSON; send it with the header Content-Type: application/json",
            400,
        )
    return body


def integer_field(
    body: dict[str, Any], name: str, low: int, high: int, default: int | None = None
) -> int:
    """An integer field in [low, high], or a 400 naming it (true, 5.0 and "5" are refused)."""
    if name not in body:
        if default is None:
            raise PredictionException(f"missing field {name} in the JSON body", 400)
        return default
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise PredictionException(f"{name} must be an integer, got {shown(value)}", 400)
    if not low <= value <= high:
        raise PredictionException(
            f"{name} must be between {low} and {high}, got {shown(value)}", 400
        )
    return value


def shown(value: Any) -> str:
    """A short echo of what the client sent, so a message never grows with the input."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
