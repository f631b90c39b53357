"""Prometheus metrics at GET /metrics: what the server did, summed over gunicorn's workers.

Each gunicorn worker is a process with its own memory, so a counter kept in memory would count
only the requests of the worker that happens to answer the scrape. prometheus-client's
multiprocess mode keeps every worker's values in files of one directory instead, and /metrics
adds them up. flask_app/gunicorn.conf.py sets that directory (PROMETHEUS_MULTIPROC_DIR) before
this module is imported, empties it at start and tells the library when a worker dies. Without
that variable (`flask run`, tests) the values simply live in this process.

/metrics is for Prometheus, not for the internet: nginx refuses it (deploy/nginx/movierec.conf),
and Prometheus scrapes gunicorn on 127.0.0.1 directly (monitoring/prometheus.yml).
"""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import values as prometheus_values

from flask_app import request_info

bp = Blueprint("metrics", __name__)

# How the library keeps values, decided when it was first imported: in files of
# PROMETHEUS_MULTIPROC_DIR (gunicorn), or in this process's memory (`flask run`, tests).
MULTIPROCESS = prometheus_values.ValueClass is not prometheus_values.MutexValue

# The API answers in a few milliseconds; the alert's threshold (monitoring/alerts.yml, 0.25 s)
# must be a bucket edge, or histogram_quantile can only guess between two edges.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STARTED = "movierec.started"  # in the WSGI environ: when Flask got the request
RATING_BUCKETS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)

REQUESTS = Counter(
    "movierec_http_requests",  # exposed as movierec_http_requests_total
    "HTTP requests answered, by endpoint (the route, not the URL), method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "movierec_http_request_duration_seconds",
    "Time from the request reaching Flask to its answer, by endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
UNKNOWN_USERS = Counter(
    "movierec_unknown_user_answers",
    "Answers 404 for a user the model never saw: a rising rate says the model is getting stale.",
)
PREDICTED_RATING = Histogram(
    "movierec_predicted_rating",
    "One predicted rating per answer: the best movie of /recommend, the mean of /predict.",
    buckets=RATING_BUCKETS,
)
# Set by each worker when it starts answering with a model, and again when it swaps in a newer
# one (flask_app/served.py): "mostrecent" reports the latest value written by any process, so
# after a swap the new model's series is 1 and the old one's 0.
MODEL_LOAD_SECONDS = Gauge(
    "movierec_model_load_seconds",
    "How long loading the served model and ranking every user took.",
    multiprocess_mode="mostrecent",
)
MODEL_INFO = Gauge(
    "movierec_model_info",
    "1 for the model being served, 0 for one it replaced; the labels say which.",
    ["version", "created_at", "dataset"],
    multiprocess_mode="mostrecent",
)
MODEL_CREATED = Gauge(
    "movierec_model_created_timestamp_seconds",
    "When the served model was trained (Unix time): alert on `time() - this` to retrain.",
    multiprocess_mode="mostrecent",
)
_recorded: list = [None]  # the ServedModel this process last described in the gauges


def init_app(app: Flask) -> None:
    """Time and count every request, and serve GET /metrics."""
    app.before_request(_start_timer)
    # Test-only (FLASK_DELAY_FILE): after the timer starts, so the delay counts as latency.
    if app.config.get("DELAY_FILE"):
        app.before_request(_test_delay)
    app.after_request(_count)
    app.register_blueprint(bp)


def _model_labels(metadata: dict) -> tuple[str, str, str]:
    dataset = (metadata.get("dataset") or {}).get("name") or ""
    return str(metadata.get("version", "")), metadata.get("created_at") or "", dataset


def record_model(served) -> None:
    """Describe `served` (a `flask_app.served.ServedModel`) in the gauges, once per model and
    process: its version, training time and load time; a model it replaced goes to 0."""
    previous = _recorded[0]
    if served is previous:
        return
    _recorded[0] = served
    if previous is not None:
        MODEL_INFO.labels(*_model_labels(previous.recommender.metadata)).set(0)
    metadata = served.recommender.metadata
    MODEL_INFO.labels(*_model_labels(metadata)).set(1)
    MODEL_LOAD_SECONDS.set(served.load_seconds)
    created = metadata.get("created_at") or ""
    with suppress(ValueError):  # an old model without a date: the gauge stays 0
        MODEL_CREATED.set(datetime.fromisoformat(created).timestamp())


def _start_timer() -> None:
    request.environ[STARTED] = time.perf_counter()


def _test_delay() -> None:
    """Sleep the seconds written in the DELAY_FILE, if it exists: tests/monitoring uses it to make
    the app slow on purpose and watch the latency alert fire. Never set in production."""
    try:
        seconds = float(Path(current_app.config["DELAY_FILE"]).read_text())
    except (FileNotFoundError, ValueError):
        return
    time.sleep(seconds)


def _count(response: Response) -> Response:
    req = request._get_current_object()  # one context lookup instead of one per attribute
    # The route that matched ("/movies/<item_id>"), never the raw path: one time series per
    # route, not one per URL a scanner tries.
    endpoint = req.url_rule.rule if req.url_rule is not None else "unmatched"
    status = response.status_code
    REQUESTS.labels(endpoint, req.method, str(status)).inc()
    started = req.environ.get(STARTED)
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    served = g.get("served")  # the model this request answered with; None in store mode
    if served is not None:
        record_model(served)
    user = request_info.requested_user(status)  # what the view parsed; None elsewhere
    if user is not None:
        _watch_the_model(user, status, req.endpoint, served)
    return response


def _watch_the_model(user: int, status: int, endpoint: str | None, served) -> None:
    """Count answers for unknown users; note the best predicted rating of /recommend."""
    ranking = served.rankings.get(user) if served is not None else None
    if status == 404 and ranking is None:
        # /recommend and the store answer 404 only for unknown users; /predict also for an
        # unknown movie, which the rankings tell apart.
        UNKNOWN_USERS.inc()
    elif status == 200 and endpoint == "api.recommend" and ranking:  # not OPTIONS' 200
        PREDICTED_RATING.observe(ranking[0]["score"])


@bp.get("/metrics")
def metrics() -> Response:
    """Every metric in Prometheus' text format, summed over the workers when there are several."""
    served = g.get("served")
    if served is not None:  # a worker's first request may be a scrape: describe its model now
        record_model(served)
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    # The classic text format (0.0.4), which every Prometheus reads, Debian's 2.42 included.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
