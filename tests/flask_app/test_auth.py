"""flask_app/auth.py: training needs a key; without one configured it is off and says how to
turn it on; reading recommendations never needs one."""

from __future__ import annotations

import logging
import re

import pytest

from flask_app import create_app
from flask_app.auth import MIN_KEY_LENGTH, read_keys
from tests.conftest import REPO_ROOT
from tests.flask_app.conftest import API_KEY, AUTH

PROTECTED = [("POST", "/train"), ("GET", "/train/status/" + "0" * 32),
             ("POST", "/train/" + "0" * 32 + "/retry")]  # fmt: skip


@pytest.fixture
def no_key_env(monkeypatch):
    for name in ("MOVIEREC_API_KEY", "MOVIEREC_API_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_without_a_configured_key_training_is_off_and_says_how_to_turn_it_on(
    no_key_env, trained_model_dir, method, path
):
    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir)})
    response = app.test_client().open(path, method=method, headers=AUTH)
    assert response.status_code == 503
    message = response.get_json()["error"]
    assert "MOVIEREC_API_KEY_FILE" in message
    lecture = re.search(r"lectures/\S+\.md", message).group(0)
    assert (REPO_ROOT / lecture).exists(), message
    assert "training_queue" not in app.extensions  # no jobs folder, no queue


@pytest.fixture(scope="module")
def keyed_app(trained_model_dir, tmp_path_factory):
    """One app with a key for the read-only checks of this module (an app costs a second)."""
    jobs = tmp_path_factory.mktemp("jobs")
    return create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir),
                       "API_KEYS": [API_KEY], "JOBS_DIR": str(jobs)})  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "send your API key as the header Authorization: Bearer <key>"),
        ({"Authorization": API_KEY}, "Authorization: Bearer <key>"),
        ({"Authorization": f"Basic {API_KEY}"}, "Authorization: Bearer <key>"),
        ({"Authorization": "Bearer "}, "Authorization: Bearer <key>"),
        ({"Authorization": f"Bearer {API_KEY}x"}, "the API key is not valid"),
        ({"Authorization": f"Bearer {API_KEY[:-1]}"}, "the API key is not valid"),
    ],
)
def test_a_missing_or_wrong_key_is_401_with_a_bearer_challenge(keyed_app, headers, message):
    response = keyed_app.test_client().post("/train", json={}, headers=headers)
    assert response.status_code == 401
    assert message in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"] == "Bearer realm=movierec"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_training_endpoint_needs_the_key(keyed_app, method, path):
    assert keyed_app.test_client().open(path, method=method).status_code == 401


def test_the_right_key_gets_through(keyed_app):
    response = keyed_app.test_client().get("/train/status/" + "0" * 32, headers=AUTH)
    assert response.status_code == 404  # past the key: the job does not exist


def test_reading_recommendations_needs_no_key(keyed_app, tiny_trained):
    client, recommender = keyed_app.test_client(), tiny_trained.recommender
    assert client.get(f"/recommend?user_id={int(recommender.users.raw_ids[0])}").status_code == 200
    ratings = [{"item_id": int(recommender.items.raw_ids[0]), "rating": 5}]
    assert client.post("/recommend/for-ratings", json={"ratings": ratings}).status_code == 200


def test_keys_come_from_the_environment_or_a_file(no_key_env, trained_model_dir, tmp_path):
    key_file = tmp_path / "api-keys"
    key_file.write_text(f"# the course's keys\n{'f' * 40}  # Alice's\n\n")
    no_key_env.setenv("MOVIEREC_API_KEY", "e" * 40)
    no_key_env.setenv("MOVIEREC_API_KEY_FILE", str(key_file))
    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir),
                      "JOBS_DIR": str(tmp_path / "jobs")})  # fmt: skip
    client = app.test_client()
    for key in ("e" * 40, "f" * 40):
        response = client.get(
            "/train/status/" + "0" * 32, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 404


def test_short_keys_and_unreadable_files_are_refused_and_logged(tmp_path, caplog):
    keys = read_keys(["short"], str(tmp_path / "missing"))
    assert keys.digests == ()
    assert f"keys shorter than {MIN_KEY_LENGTH} characters are ignored" in keys.problem
    assert "cannot read" in keys.problem and "training is off" in keys.problem


def test_the_reason_training_is_off_goes_to_the_log_not_to_clients(
    no_key_env, trained_model_dir, caplog
):
    with caplog.at_level(logging.WARNING):
        app = create_app({"MOVIEREC_MODEL": str(trained_model_dir), "API_KEYS": ["short"]})
    assert any("shorter than" in record.getMessage() for record in caplog.records)
    error = app.test_client().post("/train").get_json()["error"]
    assert "short" not in error


def test_keys_match_whole_and_exactly():
    keys = read_keys([API_KEY], None)
    assert keys.matches(API_KEY)
    for wrong in ("", API_KEY[:-1], API_KEY + " ", API_KEY.upper()):
        assert not keys.matches(wrong)
