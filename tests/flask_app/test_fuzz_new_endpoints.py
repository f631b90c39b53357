"""The endpoints of lecture 6 fuzzed against the real server: not one 5xx in 2,000 requests.

gunicorn runs the production command (two workers) with training turned on (an API key), a jobs
folder of its own and no worker, and URL downloads that never leave the machine (no DNS, no
public address: `URL_FETCH`, set through FLASK_URL_FETCH). Hypothesis then sends what no one
would write by hand to POST /recommend/for-ratings (JSON of any shape, ratings that are almost
right, URLs of every kind, CSV uploads of random bytes) and to the training endpoints (with and
without a key, almost-right jobs, random ids). Every answer must be below 500, and every error
JSON with an "error" sentence. Valid jobs are queued (no worker runs them) until the queue is
full, after which they are refused with 429, also an answer the client can act on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT
from tests.flask_app.conftest import API_KEY
from tests.flask_app.test_fuzz import ANY_JSON
from tests.flask_app.test_gunicorn_e2e import APP, GUNICORN, START_TIMEOUT, server_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

MIN_REQUESTS = 2_000
EXAMPLES = 700  # per test; three tests: 2,100 requests


def fuzz_settings(examples: int = EXAMPLES) -> settings:
    slow_is_fine = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
    return settings(max_examples=examples, deadline=None, suppress_health_check=slow_is_fine)


@pytest.fixture(scope="module")
def server(trained_model_dir, tmp_path_factory) -> Iterator[str]:
    """gunicorn with training on and downloads kept on this machine: its base URL."""
    folder = tmp_path_factory.mktemp("fuzz-server")
    port, log = free_port(), folder / "gunicorn.log"
    env = server_env(trained_model_dir)
    env.update(MOVIEREC_API_KEY=API_KEY, MOVIEREC_JOBS_DIR=str(folder / "jobs"),
               FLASK_URL_FETCH=json.dumps({"hosts": {}, "internet": False}))  # fmt: skip
    command = [*GUNICORN, "-b", f"127.0.0.1:{port}", APP]
    url = f"http://127.0.0.1:{port}"
    with running(command, log, f"{url}/health", START_TIMEOUT, env, cwd=REPO_ROOT):
        yield url
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="module")
def sent() -> Iterator[Counter]:
    """Requests sent, by status: the total must reach MIN_REQUESTS."""
    counts: Counter = Counter()
    yield counts
    total = sum(counts.values())
    print(f"\n{total:,} requests to the new endpoints, by status: {dict(sorted(counts.items()))}")
    assert total >= MIN_REQUESTS


def check(response: requests.Response, counts: Counter) -> None:
    counts[response.status_code] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/json", response.text
        assert isinstance(response.json()["error"], str)


# --- what gets sent ------------------------------------------------------------------------------

# Often right (ids the model knows, ratings on its scale), often not.
ITEM_IDS = st.integers(1, 600) | st.integers(-3, 2_000) | st.integers(-(2**70), 2**70) | ANY_JSON
RATINGS = (
    st.integers(1, 5) | st.integers(-2, 8) | st.floats() | st.sampled_from([3.5, "4", None, True])
)
PAIRS = st.fixed_dictionaries({}, optional={"item_id": ITEM_IDS, "rating": RATINGS})
URLS = st.sampled_from([
    "http://127.0.0.1:1/ratings.csv", "file:///etc/passwd", "ftp://files.test/a.csv",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]:80/", "http://0.0.0.0/",
    "http://10.0.0.1/r.csv", "https://8.8.8.8/r.csv", "http://files.test/r.csv", "gopher://x",
    "http://user:pw@files.test/", "https://example.com:99999/", "http://", "", "//x/y",
]) | st.text(max_size=30) | ANY_JSON  # fmt: skip
FOR_RATINGS_BODIES = (
    st.fixed_dictionaries({}, optional={"ratings": st.lists(PAIRS, max_size=6) | ANY_JSON})
    | st.fixed_dictionaries({"url": URLS}, optional={"ratings": ANY_JSON})
    | ANY_JSON
)
CSV_LINES = st.lists(
    st.tuples(st.integers(-2, 3), ITEM_IDS, RATINGS, st.integers(0, 2**40)).map(
        lambda row: "\t".join(map(str, row))
    ),
    max_size=5,
)
CSV_FILES = (
    CSV_LINES.map(lambda lines: "\n".join(["userId,movieId,rating,timestamp", *lines]).encode())
    | CSV_LINES.map(lambda lines: "\n".join(lines).encode())
    | st.binary(max_size=200)
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json", "text/plain", ""])
QUERIES = st.sampled_from(["", "?k=5", "?k=0", "?k=101", "?k=x", "?k=-1", "?k=1e3"])
SETTINGS = st.dictionaries(
    st.sampled_from(
        [
            "epochs",
            "n_factors",
            "learning_rate",
            "l2",
            "batch_size",
            "patience",
            "seed",
            "valid_fraction",
            "dropout",
            "",
        ]
    ),  # fmt: skip
    st.integers(-5, 300) | st.floats() | st.text(max_size=4) | st.none(),
    max_size=3,
)
JOBS = (
    st.fixed_dictionaries(
        {},
        optional={
            "dataset": st.sampled_from(["synthetic", "ml-100k", "nope", ""]) | ANY_JSON,
            "ratings_url": URLS,
            "hyperparameters": SETTINGS | ANY_JSON,
        },
    )  # fmt: skip
    | ANY_JSON
)
JOB_IDS = st.sampled_from(["0" * 32, "f" * 32, "nope", "%2e%2e", "1" * 33]) | st.text(
    alphabet="0123456789abcdefxyz", max_size=34
)
AUTHORIZATION = st.sampled_from([
    {"Authorization": f"Bearer {API_KEY}"}, {"Authorization": f"Bearer {API_KEY}"},
    {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {API_KEY}"}, {},
])  # fmt: skip


# --- the tests -----------------------------------------------------------------------------------


def test_for_ratings_json_and_urls_never_cause_5xx(server, sent):
    session = requests.Session()

    @fuzz_settings()
    @given(body=FOR_RATINGS_BODIES, query=QUERIES, content_type=CONTENT_TYPES)
    def fuzz(body, query, content_type):
        data = json.dumps(body).encode()
        response = session.post(f"{server}/recommend/for-ratings{query}", data=data,
                                headers={"Content-Type": content_type}, timeout=30)  # fmt: skip
        check(response, sent)

    fuzz()


def test_for_ratings_uploads_never_cause_5xx(server, sent):
    session = requests.Session()

    @fuzz_settings()
    @given(content=CSV_FILES, field=st.sampled_from(["ratings", "ratings", "file"]),
           query=QUERIES)  # fmt: skip
    def fuzz(content, field, query):
        upload = {field: ("mine.csv", content, "text/csv")}
        response = session.post(f"{server}/recommend/for-ratings{query}", files=upload, timeout=30)
        check(response, sent)

    fuzz()


def test_training_endpoints_never_cause_5xx(server, sent):
    session = requests.Session()

    @fuzz_settings()
    @given(body=JOBS, job_id=JOB_IDS, auth=AUTHORIZATION,
           endpoint=st.sampled_from(["train", "train", "status", "retry", "upload"]))  # fmt: skip
    def fuzz(body, job_id, auth, endpoint):
        if endpoint == "train":
            response = session.post(f"{server}/train", data=json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json", **auth},
                                    timeout=30)  # fmt: skip
        elif endpoint == "upload":
            settings_field = json.dumps(
                body.get("hyperparameters", body) if isinstance(body, dict) else body
            )
            response = session.post(f"{server}/train", headers=auth, timeout=30,
                                    files={"ratings": ("r.csv", b"1\t2\t3\t4\n", "text/csv")},
                                    data={"hyperparameters": settings_field})  # fmt: skip
        elif endpoint == "status":
            response = session.get(f"{server}/train/status/{job_id}", headers=auth, timeout=30)
        else:
            response = session.post(f"{server}/train/{job_id}/retry", headers=auth, timeout=30)
        check(response, sent)

    fuzz()
