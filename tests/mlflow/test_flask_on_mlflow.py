"""The Flask app started on an MLflow URI passes the same HTTP contract as on a model directory.

The contract lives in tests/flask_app/test_api.py and uses only the `app` and `client` fixtures;
importing its tests here runs every one of them against the app below, whose model comes from
the registry (`models:/movie-recommender@champion` on the test's tracking server).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_app import create_app
from tests.flask_app.test_api import *  # noqa: F403
from tests.mlflow.conftest import CHAMPION_URI

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(registry) -> Flask:
    """The app serving the registry's champion (MLFLOW_TRACKING_URI points at the test server)."""
    return create_app({"MOVIEREC_MODEL": CHAMPION_URI, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_health_says_the_model_came_from_mlflow(client, registry):
    health = client.get("/health").get_json()
    assert health["source"] == "mlflow"
    assert health["model"] == CHAMPION_URI
