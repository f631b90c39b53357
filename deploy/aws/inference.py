"""The recommender inside SageMaker's PyTorch inference container: `code/inference.py` of the
model archive. SageMaker calls `model_fn` once per worker, then, for each request, `input_fn`,
`predict_fn` and `output_fn` (the toolkit's four hooks, like TorchServe's handler of lecture 5).

`{"user_id": U, "k": K}` in, the Flask app's /recommend answer out; an unknown user is answered
`{"error": ...}` (the Lambda in front turns it into a 404). The archive carries the `movierec`
package in `code/`, which SageMaker puts on the import path (deploy/aws/README.md).
"""

from __future__ import annotations

import json
from typing import Any

from movierec.errors import UnknownUserError
from movierec.limits import DEFAULT_K, MAX_K
from movierec.persist import load_model
from movierec.recommender import Recommender


def model_fn(model_dir: str) -> Recommender:
    """Load the model directory SageMaker unpacked from model.tar.gz."""
    return load_model(model_dir)


def input_fn(body: str | bytes, content_type: str) -> dict[str, int]:
    """The request's JSON; the Lambda in front has already checked its values."""
    if content_type != "application/json":
        raise ValueError(f"send application/json, not {content_type}")
    request = json.loads(body)
    return {"user_id": int(request["user_id"]), "k": min(int(request.get("k", DEFAULT_K)), MAX_K)}


def predict_fn(request: dict[str, int], recommender: Recommender) -> dict[str, Any]:
    """The user's top k, as /recommend answers it, or an error a client understands."""
    user_id = request["user_id"]
    try:
        found = recommender.recommend(user_id, request["k"])
    except UnknownUserError as error:
        return {"error": str(error)}
    return {"user_id": user_id, "recommendations": [r._asdict() for r in found]}


def output_fn(answer: dict[str, Any], accept: str) -> str:
    """The answer as JSON, whatever was asked for: the API speaks nothing else."""
    return json.dumps(answer)
