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
