"""`mlflow models serve` of the champion (mlflow/serve_champion.sh), with the documented payload."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from movierec.persist import load_model
from movierec.processes import free_port, running
from tests.mlflow.fixtures import MLFLOW_DIR, subprocess_env

pytestmark = pytest.mark.slow

PAYLOAD = MLFLOW_DIR / "payload.json"  # the request the README and the lecture show
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def scoring_server(registry, tracking_server, tmp_path_factory) -> Iterator[str]:
    """The champion served by MLflow's scoring server on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("models-serve") / "serve.log"
    command = [str(MLFLOW_DIR / "serve_champion.sh"), "--port", str(port)]
    env = subprocess_env(MLFLOW_TRACKING_URI=tracking_server)
    with running(command, log, f"{url}/ping", timeout=120, env=env):
        yield url


def test_the_documented_payload_gets_the_champions_recommendations(scoring_server, registry):
    response = requests.post(
        f"{scoring_server}/invocations", data=PAYLOAD.read_bytes(), headers=JSON, timeout=30
    )
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]

    (user, k), *_ = json.loads(PAYLOAD.read_text())["dataframe_split"]["data"]
    expected = load_model(registry.model_dirs["better"]).recommend(user, k)
    assert [p["rank"] for p in predictions] == list(range(1, k + 1))
    assert [p["item_id"] for p in predictions] == [r.item_id for r in expected]
    assert [p["title"] for p in predictions] == [r.title for r in expected]
    assert [p["score"] for p in predictions] == pytest.approx([r.score for r in expected])


def test_records_without_k_get_ten_recommendations_each(scoring_server):
    body = {"dataframe_records": [{"user_id": 1}, {"user_id": 2}]}
    response = requests.post(f"{scoring_server}/invocations", json=body, timeout=30)
    assert response.status_code == 200, response.text
    users = [p["user_id"] for p in response.json()["predictions"]]
    assert users == [1] * 10 + [2] * 10


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("this is not json", "application/json"),
        (json.dumps({"dataframe_split": {"columns": ["user"], "data": [[1]]}}), "application/json"),
        (json.dumps({"dataframe_records": [{"user_id": "abc"}]}), "application/json"),
        (json.dumps({"dataframe_records": [{"user_id": 1, "k": 0}]}), "application/json"),
        (json.dumps({"dataframe_records": [{"user_id": 10**9}]}), "application/json"),
        (PAYLOAD.read_text(), "text/plain"),
    ],
    ids=["not-json", "wrong-column", "not-a-number", "k-zero", "unknown-user", "wrong-type"],
)
def test_bad_requests_get_a_4xx(scoring_server, body, content_type):
    response = requests.post(
        f"{scoring_server}/invocations", data=body, headers={"Content-Type": content_type},
        timeout=30,
    )  # fmt: skip
    assert 400 <= response.status_code < 500, response.text
