"""The training endpoints (flask_app/training.py) through the test client, with no worker: what
is accepted, what is refused and why, and what the status says. A real worker runs the jobs in
tests/training_service/test_worker.py."""

from __future__ import annotations

import io
import json
import math

import pytest

from flask_app.training import (
    INTEGER_SETTINGS,
    MAX_BODY,
    NUMBER_SETTINGS,
    START_WORKER,
    WORKER_DIED,
)
from movierec.hyperparameters import TrainConfig
from tests.file_server import file_server
from tests.flask_app.conftest import AUTH

CSV = b"userId,movieId,rating,timestamp\n" + b"".join(
    f"{u},{i},{(u * i) % 5 + 1},0\n".encode() for u in range(1, 30) for i in range(1, 30)
)


def submit(client, **kwargs):
    return client.post("/train", headers=AUTH, **kwargs)


def status(client, job_id: str) -> dict:
    response = client.get(f"/train/status/{job_id}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def error_of(response, status_code: int) -> str:
    assert response.status_code == status_code, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()["error"]


# --- the settings a job may ask for ---------------------------------------------------------------


def test_every_setting_of_the_taught_model_may_be_asked_for_within_its_schemas_range():
    """The service's bounds are a server's limits: tighter than TrainConfig's, never wider."""
    schema = TrainConfig.json_schema()["properties"]
    allowed = INTEGER_SETTINGS | NUMBER_SETTINGS
    assert set(allowed) == set(schema), "a setting of TrainConfig is missing, or one is extra"
    for name, (low, high) in allowed.items():
        declared = schema[name]
        assert (name in INTEGER_SETTINGS) == (declared["type"] == "integer"), name
        assert low >= declared.get("minimum", -math.inf), name
        assert low > declared.get("exclusiveMinimum", -math.inf), name
        assert high <= declared.get("maximum", math.inf), name
        assert high < declared.get("exclusiveMaximum", math.inf), name


# --- accepted -------------------------------------------------------------------------------------


def test_a_job_is_accepted_with_where_to_follow_it(own_app):
    client = own_app.test_client()
    response = submit(client, json={"dataset": "synthetic", "hyperparameters": {"epochs": 3}})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert response.headers["Location"] == body["status_url"] == f"/train/status/{body['id']}"

    shown = status(client, body["id"])
    assert shown["request"] == {"dataset": "synthetic", "hyperparameters": {"epochs": 3}}
    assert shown["position"] == 1
    assert shown["worker"] == START_WORKER  # nothing runs it yet, and the status says so


def test_an_uploaded_ratings_file_is_kept_with_its_job(own_app):
    client = own_app.test_client()
    response = submit(client, content_type="multipart/form-data", data={
        "ratings": (io.BytesIO(CSV), "mine.csv"), "hyperparameters": '{"epochs": 2}'})  # fmt: skip
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert status(client, job_id)["request"] == {"ratings": "uploaded",
                                                 "hyperparameters": {"epochs": 2}}  # fmt: skip
    kept = own_app.extensions["training_queue"].jobs.folder_of(job_id) / "ratings.csv"
    assert kept.read_bytes() == CSV


def test_a_ratings_url_is_fetched_under_the_safe_fetch_rules(own_app):
    with file_server({"/ratings.csv": CSV}) as server:
        own_app.config["URL_FETCH"] = {"hosts": {"files.test": "127.0.0.1"}, "internet": False,
                                       "allow": [f"127.0.0.1:{server.port}"]}  # fmt: skip
        url = f"http://files.test:{server.port}/ratings.csv"
        response = submit(own_app.test_client(), json={"ratings_url": url})
    assert response.status_code == 202, response.get_json()
    assert server.requests == ["/ratings.csv"]


# --- refused, with the reason ---------------------------------------------------------------------


def settings(**chosen) -> dict:
    return {"dataset": "synthetic", "hyperparameters": chosen}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'send {"dataset": "<name>"} or {"ratings_url": "https://..."}'),
        ({"dataset": "synthetic", "ratings_url": "http://x.test"}, 'send {"dataset"'),
        ({"dataset": "synthetic", "extra": 1}, 'send {"dataset"'),
        ({"dataset": "imdb"}, "dataset must be one of ml-100k, ml-latest-small, synthetic"),
        ({"dataset": 7}, "dataset must be one of"),
        ({"dataset": "synthetic", "hyperparameters": []}, "hyperparameters must be a JSON object"),
        (settings(dropout=0.1), "unknown setting 'dropout'"),
        (settings(epochs=0), "epochs must be an integer from 1 to 200, got 0"),
        (settings(epochs=10_000), "from 1 to 200, got 10000"),
        (settings(epochs=2.5), "epochs must be an integer"),
        (settings(epochs=True), "epochs must be an integer"),
        (settings(l2="0.1"), "l2 must be a number"),
        (settings(n_factors=100_000), "n_factors must be"),
        ({"ratings_url": "file:///etc/passwd"}, "url refused: only http:// and https://"),
        ({"ratings_url": "http://127.0.0.1:5000/"}, "127.0.0.1 is a loopback address"),
        ({"ratings_url": ["http://x.test"]}, "url must be a string"),
    ],
)
def test_a_bad_request_is_400_with_the_reason(own_app, body, message):
    assert message in error_of(submit(own_app.test_client(), json=body), 400)


def test_an_upload_that_is_not_ratings_is_400_before_any_job_exists(own_app):
    movies = io.BytesIO(b"title,year\nAlien,1979\n")
    response = submit(own_app.test_client(), content_type="multipart/form-data",
                      data={"ratings": (movies, "movies.csv")})  # fmt: skip
    assert "the uploaded file" in error_of(response, 400)
    assert own_app.extensions["training_queue"].jobs.queued() == []


def test_the_body_limit_is_this_endpoints_own(own_app):
    too_big = io.BytesIO(b"1,1,5,0\n" * (MAX_BODY // 8 + 1))
    response = submit(own_app.test_client(), content_type="multipart/form-data",
                      data={"ratings": (too_big, "big.csv")})  # fmt: skip
    assert f"the limit is {MAX_BODY:,} bytes" in error_of(response, 413)


def test_a_full_queue_is_429_with_when_to_try_again(own_app):
    own_app.config["TRAINING_QUEUE_SIZE"] = 2
    client = own_app.test_client()
    for _ in range(2):
        assert submit(client, json={"dataset": "synthetic"}).status_code == 202
    response = submit(client, json={"dataset": "synthetic"})
    assert "the training queue is full" in error_of(response, 429)
    assert response.headers["Retry-After"] == "60"


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "0" * 33, "A" * 32])
def test_an_unknown_job_is_404(own_app, job_id):
    response = own_app.test_client().get(f"/train/status/{job_id}", headers=AUTH)
    assert "no job" in error_of(response, 404) and "kept 7 days" in error_of(response, 404)


# --- failed jobs: found, explained, retried only when asked ---------------------------------------


def test_a_job_marked_running_with_no_worker_alive_is_failed_with_the_reason(own_app):
    client, jobs = own_app.test_client(), own_app.extensions["training_queue"].jobs
    job_id = submit(client, json={"dataset": "synthetic"}).get_json()["id"]
    jobs.start(job_id, worker_pid=999_999)  # a worker took it, then died: no lock is held
    shown = status(client, job_id)
    assert shown["status"] == "failed" and shown["error"] == WORKER_DIED
    assert shown["retry"] == f"POST /train/{job_id}/retry"


def test_only_a_failed_job_is_retried_and_as_a_new_job(own_app):
    client, jobs = own_app.test_client(), own_app.extensions["training_queue"].jobs
    response = submit(client, content_type="multipart/form-data",
                      data={"ratings": (io.BytesIO(CSV), "mine.csv")})  # fmt: skip
    job_id = response.get_json()["id"]
    refused = client.post(f"/train/{job_id}/retry", headers=AUTH)
    assert "only a failed job can be retried; this one is queued" in error_of(refused, 409)

    jobs.fail(job_id, "bad luck")
    retried = client.post(f"/train/{job_id}/retry", headers=AUTH)
    assert retried.status_code == 202
    new_id = retried.get_json()["id"]
    assert new_id != job_id and status(client, new_id)["retry_of"] == job_id
    assert (jobs.folder_of(new_id) / "ratings.csv").read_bytes() == CSV  # the same ratings


def test_a_job_goes_on_the_queue_under_its_own_id(own_app):
    queue = own_app.extensions["training_queue"]
    job_id = submit(own_app.test_client(), json={"dataset": "synthetic"}).get_json()["id"]
    (task,) = queue.huey.pending()
    assert task.id == job_id and task.args == (job_id,)
    assert task.timeout == own_app.config["TRAINING_TIME_LIMIT"]
    assert json.dumps(status(own_app.test_client(), job_id))  # plain JSON throughout
