"""Load a model for serving from wherever it lives: a native model directory or an MLflow URI.

The Flask app calls `load_for_serving($MOVIEREC_MODEL)`; it answers the same `Recommender`
either way, with `metadata["source"]` saying which kind of location it came from.
"""

from __future__ import annotations

from pathlib import Path

from movierec.persist import load_model
from movierec.recommender import Recommender

MLFLOW_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")


def is_mlflow_uri(location: str | Path) -> bool:
    """True for MLflow model URIs such as `models:/movie-recommender@champion`."""
    return str(location).startswith(MLFLOW_SCHEMES)


def load_for_serving(location: str | Path) -> Recommender:
    """Load a `Recommender` from a model directory or an MLflow model URI.

    Raises `movierec.persist.ModelLoadError` with one clear line when it cannot.
    """
    if is_mlflow_uri(location):
        # Imported here: MLflow takes seconds to import and a native deployment never needs it.
        from movierec.registry import load_recommender

        recommender = load_recommender(str(location))
        recommender.metadata["source"] = "mlflow"
    else:
        recommender = load_model(location)
        recommender.metadata["source"] = "native"
    recommender.metadata["location"] = str(location)
    return recommender
