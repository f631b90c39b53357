"""The Flask app started on an MLflow URI (the whole HTTP contract runs on it too: the `app`
fixture of tests/flask_app/test_api.py is parametrised over a model directory and this URI)."""

from __future__ import annotations

import pytest

from tests.mlflow.fixtures import CHAMPION_URI

pytestmark = pytest.mark.slow


def test_health_says_the_model_came_from_mlflow(mlflow_app, registry):
    health = mlflow_app.test_client().get("/health").get_json()
    assert health["source"] == "mlflow"
    assert health["model"] == CHAMPION_URI
    assert health["version"] == registry.trained["better"].recommender.version
