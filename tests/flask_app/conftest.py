"""Fixtures for the Flask app, after flaskr's: `app`, `client` and `runner`, plus `live_server`.

Every fixture serves the suite's tiny trained model (`trained_model_dir` in tests/conftest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.serving import make_server

from flask_app import create_app


@pytest.fixture(scope="session")
def app(trained_model_dir) -> Flask:
    """The app serving the tiny model. One per session: requests never change its state, and
    loading the model once keeps the suite fast."""
    return create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir)})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Sends requests straight to the app, without a socket: fast, for the whole contract."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask ...` commands against the app."""
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The same app on a real loopback socket (Werkzeug, in a thread): for requests and Chromium.

    Port 0 lets the OS pick a free port, so nothing can take it between choosing and binding.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
