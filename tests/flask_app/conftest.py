"""Fixtures for the Flask app, after flaskr's: `client` and `runner` (`app` and `live_server`,
which other folders use too, are in tests/conftest.py).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Sends requests straight to the app, without a socket: fast, for the whole contract."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask ...` commands against the app."""
    return app.test_cli_runner()


# --- an app of one's own: a served model it may swap, training on -------------------------------

API_KEY = "test-key-" + "x" * 40  # long enough for flask_app/auth.py; never a real key
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def variant_of(recommender, seed: int):
    """The same recommender with other weights (its movies' biases shuffled a little): another
    model version, whose rankings differ, made in milliseconds instead of a training."""
    import copy

    import torch

    from movierec.recommender import Recommender

    model = copy.deepcopy(recommender.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        bias = model.item_bias.weight
        bias += 0.5 * torch.randn(bias.shape, generator=generator)
    metadata = {k: v for k, v in recommender.metadata.items() if k != "version"}
    return Recommender(model, recommender.users, recommender.items, recommender.rated,
                       recommender.movies, recommender.rating_range, metadata)  # fmt: skip


@pytest.fixture
def served_link(tmp_path, tiny_trained):
    """models/default in a temporary folder: a link to a copy of the tiny model, as `make train`
    leaves it; saving another model there swaps the link."""
    from movierec.persist import save_model

    return save_model(tiny_trained.recommender, tmp_path / "models" / "default")


@pytest.fixture
def own_app(served_link, tmp_path):
    """An app of this test's own: its own served model and jobs folder, training on (a key)."""
    from flask_app import create_app

    config = {"TESTING": True, "MOVIEREC_MODEL": str(served_link), "API_KEYS": [API_KEY],
              "JOBS_DIR": str(tmp_path / "jobs")}  # fmt: skip
    return create_app(config)
