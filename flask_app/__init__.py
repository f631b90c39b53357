"""The Flask app that serves the movie recommender; `create_app` is the whole start-up story.

Development: `flask --app flask_app run` (127.0.0.1:5000, debug off unless `--debug`).
Production:  `gunicorn -c flask_app/gunicorn.conf.py "flask_app:create_app()"`.
Store mode:  the same, with MOVIEREC_STORE=stores/default.sqlite (lecture 7).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from movierec.errors import ModelLoadError
from movierec.locations import model_location


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, the model (loaded once) or a store, blueprints, errors.

    `config` overrides everything else; tests pass a tiny model's directory through it.
    Exits (`SystemExit`, one line) when the model, or the store, is missing or corrupt.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        # A model directory or an MLflow model URI: $MOVIEREC_MODEL, else where `make demo`
        # saves its model (models/default).
        MOVIEREC_MODEL=model_location(),
        # A /predict body is a few ids: anything bigger is refused with 413 before it is read.
        # (Endpoints that take files set their own: /recommend/for-ratings, /train.)
        MAX_CONTENT_LENGTH=64 * 1024,
        # How many proxies stand in front (1 behind nginx, lecture 5). Their X-Forwarded-For and
        # X-Forwarded-Proto headers are trusted that far and no further: with no proxy (0),
        # anyone could forge them.
        PROXY_HOPS=0,
        # A store written by `python -m movierec batch`: when set, the app answers from it alone
        # ("store mode", lecture 7) and loads no model.
        MOVIEREC_STORE=os.environ.get("MOVIEREC_STORE"),
        # Prometheus metrics at /metrics (lecture 8); FLASK_METRICS=false turns them off, which
        # only bench/serve_compare.py does, to measure what they cost.
        METRICS=True,
        # Test-only: a file holding seconds every request sleeps first (tests/monitoring).
        DELAY_FILE=None,
    )
    # Any FLASK_* environment variable sets the key after the prefix, e.g. FLASK_DEBUG=true.
    app.config.from_prefixed_env()
    if config is not None:
        app.config.from_mapping(config)

    # Imported here, like flaskr does: the modules only need to exist once an app is built.
    from flask_app import cors, errors, headers, request_info

    # First, so that the timer and the request id cover everything the other hooks do.
    request_info.register(app)
    if app.config["METRICS"]:
        from flask_app import metrics

        metrics.init_app(app)

    if app.config["MOVIEREC_STORE"]:
        # Store mode: /recommendations/<user_id> looks up what a batch job computed. Only this
        # branch's modules are imported, so torch never is (see flask_app/store_api.py).
        from flask_app import store_api

        store_api.init_app(app)
    else:
        _serve_model(app)

    # Keep keys in the order the views write them ("status" first); Flask sorts them otherwise.
    app.json.sort_keys = False

    # Behind nginx every request comes from 127.0.0.1 over plain HTTP; ProxyFix puts the real
    # client address and scheme back (request.remote_addr, gunicorn's access log, url_for).
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    cors.register(app)  # other sites' pages may call the API only if configured
    errors.register(app)
    headers.register(app)
    return app


def _serve_model(app: Flask) -> None:
    """Load the model, rank every user's movies, register the API, the page and training."""
    # Imported here: loading a model imports torch, which store mode never needs.
    from flask_app import api, auth, for_ratings, pages, served, training

    # Load the model once, now: a missing or corrupt model stops the server at start-up, instead
    # of every request answering 500 later. SystemExit makes `flask run` and gunicorn print just
    # the message (which names the path and the command that makes a model), not a traceback.
    # Every user's ranking is computed now too; a newer model saved later replaces both while
    # the server runs (flask_app/served.py).
    try:
        swapper = served.ModelSwapper(app.config["MOVIEREC_MODEL"], app.logger)
    except ModelLoadError as error:
        raise SystemExit(f"error: cannot serve: {error}") from None
    served.register(app, swapper)

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(for_ratings.bp)
    auth.register(app)  # API keys, for the endpoints that change something
    training.register(app)  # POST /train and the job queue (lecture 6), on with a key
