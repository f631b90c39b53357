"""The HTTP contract of the API (flask_app/README.md), through Flask's test client.

Every test runs twice: on the app serving a model directory, and on the app serving the MLflow
registry's champion (`models:/movie-recommender@champion`): one contract, both sources. The tests
read known users and movies from whatever model the app loaded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

MAX_BODY = 64 * 1024


@pytest.fixture(params=["native", pytest.param("mlflow", marks=pytest.mark.slow)])
def app(request, app):
    """Overrides the suite's `app`: that one (a model directory), then the MLflow one."""
    return app if request.param == "native" else request.getfixturevalue("mlflow_app")


def _recommender(app):
    return app.extensions["model"].served.recommender


def _ids(app) -> dict[str, int]:
    """A user and a movie the model knows, and ids it does not know."""
    recommender = _recommender(app)
    return {
        "user": int(recommender.users.raw_ids[0]),
        "movie": int(recommender.items.raw_ids[0]),
        "unknown_user": int(recommender.users.raw_ids.max()) + 1000,
        "unknown_movie": int(recommender.movies.index.max()) + 1000,
    }


def _assert_json_error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]
    assert isinstance(message, str) and message
    return message


# --- GET /health ------------------------------------------------------------------------------


def test_health_names_the_model_it_serves(app, client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    health = response.get_json()
    metadata = _recommender(app).metadata
    assert health["status"] == "ok"
    assert health["source"] == metadata["source"] in {"native", "mlflow"}
    assert health["model"] == metadata["location"] == str(app.config["MOVIEREC_MODEL"])
    assert health["dataset"] == metadata["dataset"]["name"]
    assert health["created_at"] == metadata["created_at"]
    assert health["movierec_version"] == metadata["versions"]["movierec"]


# --- GET /recommend ---------------------------------------------------------------------------


def test_recommend_returns_ten_unrated_movies_best_first(app, client):
    user = _ids(app)["user"]
    response = client.get(f"/recommend?user_id={user}")
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["user_id"] == user
    recommendations = answer["recommendations"]
    assert len(recommendations) == 10
    scores = [r["score"] for r in recommendations]
    assert scores == sorted(scores, reverse=True)
    rated = set(_recommender(app).rated_by(user).tolist())
    assert not rated & {r["item_id"] for r in recommendations}
    for r in recommendations:
        assert set(r) == {"item_id", "title", "score"}
        assert isinstance(r["item_id"], int) and isinstance(r["title"], str)


def test_recommend_matches_the_model(app, client):
    user = _ids(app)["user"]
    answer = client.get(f"/recommend?user_id={user}&k=7").get_json()
    expected = _recommender(app).recommend(user, 7)
    assert [r["item_id"] for r in answer["recommendations"]] == [e.item_id for e in expected]
    assert [r["title"] for r in answer["recommendations"]] == [e.title for e in expected]


@pytest.mark.parametrize("k", [1, 5, 100])
def test_recommend_returns_at_most_k(app, client, k):
    user = _ids(app)["user"]
    answer = client.get("/recommend", query_string={"user_id": user, "k": k}).get_json()
    unrated = len(_recommender(app).items) - len(_recommender(app).rated_by(user))
    assert len(answer["recommendations"]) == min(k, unrated)


def test_recommend_unknown_user_is_404(app, client):
    unknown = _ids(app)["unknown_user"]
    message = _assert_json_error(client.get(f"/recommend?user_id={unknown}"), 404)
    assert str(unknown) in message


# --- POST /predict ----------------------------------------------------------------------------


def test_predict_keeps_the_request_order(app, client):
    ids = _ids(app)
    items = [int(i) for i in _recommender(app).items.raw_ids[:5][::-1]] + [ids["movie"]]
    response = client.post("/predict", json={"user_id": ids["user"], "item_ids": items})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["user_id"] == ids["user"]
    assert [p["item_id"] for p in answer["predictions"]] == items
    expected = _recommender(app).predict([ids["user"]] * len(items), items)
    np.testing.assert_allclose([p["rating"] for p in answer["predictions"]], expected)


def test_predict_unknown_user_and_movie_are_404(app, client):
    ids = _ids(app)
    body = {"user_id": ids["unknown_user"], "item_ids": [ids["movie"]]}
    assert str(ids["unknown_user"]) in _assert_json_error(client.post("/predict", json=body), 404)
    body = {"user_id": ids["user"], "item_ids": [ids["movie"], ids["unknown_movie"]]}
    assert str(ids["unknown_movie"]) in _assert_json_error(client.post("/predict", json=body), 404)


# --- GET /movies/<item_id> --------------------------------------------------------------------


def test_movie_has_title_and_genres(app, client):
    movie = _ids(app)["movie"]
    response = client.get(f"/movies/{movie}")
    assert response.status_code == 200
    answer = response.get_json()
    assert answer == _recommender(app).movie(movie)
    assert isinstance(answer["title"], str) and isinstance(answer["genres"], list)


def test_unknown_movie_is_404(app, client):
    _assert_json_error(client.get(f"/movies/{_ids(app)['unknown_movie']}"), 404)


# --- GET / ------------------------------------------------------------------------------------


def test_page_is_html_that_uses_the_api(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<form id="pick-user">' in page and "app.js" in page
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert "recommend?" in script.get_data(as_text=True)


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/health", "/recommend", "/", "/no-such-page"])
def test_every_answer_has_the_safety_headers(client, url):
    response = client.get(url)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"].startswith(("application/json", "text/html"))
    assert "Server" not in response.headers  # the app adds no banner; gunicorn's has no version


def test_wrong_method_is_405_with_allow_header(client):
    response = client.get("/predict")
    assert "POST" in _assert_json_error(response, 405)
    assert "POST" in response.headers["Allow"]


# --- tables of bad inputs: each one a JSON error with the right status --------------------------

# {user}, {movie}, {unknown_user} and {unknown_movie} are filled in from the loaded model.
BAD_URLS = [
    # (method, url, expected status, words the message must hold)
    ("GET", "/recommend", 400, "missing query parameter user_id"),
    ("GET", "/recommend?user_id=", 400, "must be an integer"),
    ("GET", "/recommend?user_id=abc", 400, "user_id must be an integer"),
    ("GET", "/recommend?user_id=1.5", 400, "must be an integer"),
    ("GET", "/recommend?user_id=%201", 400, "must be an integer"),
    ("GET", "/recommend?user_id=0", 400, "between"),
    ("GET", "/recommend?user_id=-3", 400, "between"),
    ("GET", "/recommend?user_id=" + "9" * 30, 400, "between"),
    ("GET", "/recommend?user_id={user}&user_id={user}", 400, "only once"),
    ("GET", "/recommend?user_id={user}&k=0", 400, "k must be between 1 and 100"),
    ("GET", "/recommend?user_id={user}&k=101", 400, "k must be between 1 and 100"),
    ("GET", "/recommend?user_id={user}&k=ten", 400, "k must be an integer"),
    ("GET", "/recommend?user_id={unknown_user}", 404, "unknown user"),
    ("POST", "/recommend?user_id={user}", 405, "use GET"),
    ("GET", "/predict", 405, "use POST"),
    ("GET", "/movies/abc", 400, "item_id must be an integer"),
    ("GET", "/movies/0", 400, "between"),
    ("GET", "/movies/{unknown_movie}", 404, "unknown movie"),
    ("DELETE", "/movies/{movie}", 405, "use GET"),
    ("GET", "/movies/", 404, "no such URL"),
    ("GET", "/recommend/", 404, "no such URL"),
    ("GET", "/no/such/route", 404, "no such URL"),
]

# Bodies sent to POST /predict as application/json.
BAD_BODIES = [
    # (body, expected status, words the message must hold)
    ("", 400, "not valid JSON"),
    ('{"user_id": 1,', 400, "not valid JSON"),
    ("[" * 20_000, 400, "not valid JSON"),  # nested too deep for Python's JSON parser
    ('{"user_id": NaN, "item_ids": [1]}', 400, "user_id must be an integer"),
    ("[1, 2]", 400, "must be a JSON object"),
    ("null", 400, "must be a JSON object"),
    ('{"item_ids": [{movie}]}', 400, "missing field user_id"),
    ('{"user_id": {user}}', 400, "missing field item_ids"),
    ('{"user_id": "1", "item_ids": [1]}', 400, "user_id must be an integer"),
    ('{"user_id": 1.0, "item_ids": [1]}', 400, "user_id must be an integer"),
    ('{"user_id": true, "item_ids": [1]}', 400, "user_id must be an integer"),
    ('{"user_id": null, "item_ids": [1]}', 400, "user_id must be an integer"),
    ('{"user_id": {user}, "item_ids": []}', 400, "list of 1 to 1000"),
    ('{"user_id": {user}, "item_ids": 7}', 400, "list of 1 to 1000"),
    (json.dumps({"user_id": 1, "item_ids": [1] * 1001}), 400, "list of 1 to 1000"),
    ('{"user_id": {user}, "item_ids": ["7"]}', 400, "item_ids[0] must be an integer"),
    ('{"user_id": {user}, "item_ids": [1, -1]}', 400, "item_ids[1] must be between"),
    ('{"user_id": {unknown_user}, "item_ids": [{movie}]}', 404, "unknown user"),
    ('{"user_id": {user}, "item_ids": [{unknown_movie}]}', 404, "unknown movie"),
    (" " * (MAX_BODY + 1), 413, "too large"),
]

# Bodies that are not JSON, or not labelled as JSON, where JSON is required: 415.
NOT_JSON = [
    # (body, Content-Type header)
    (None, None),
    ("user_id=1&item_ids=1", "application/x-www-form-urlencoded"),
    ('{"user_id": 1, "item_ids": [1]}', "text/plain"),
]


def _fill(text: str, ids: dict[str, int]) -> str:
    # str.format would trip over the JSON braces: replace only the known placeholders.
    for name, value in ids.items():
        text = text.replace("{" + name + "}", str(value))
    return text


@pytest.mark.parametrize(("method", "url", "status", "words"), BAD_URLS)
def test_bad_url_gets_a_clear_json_error(app, client, method, url, status, words):
    response = client.open(_fill(url, _ids(app)), method=method)
    assert words in _assert_json_error(response, status)


@pytest.mark.parametrize(
    ("body", "status", "words"), BAD_BODIES, ids=[body[:40] for body, *_ in BAD_BODIES]
)
def test_bad_body_gets_a_clear_json_error(app, client, body, status, words):
    response = client.post("/predict", data=_fill(body, _ids(app)), content_type="application/json")
    assert words in _assert_json_error(response, status)


@pytest.mark.parametrize(("body", "content_type"), NOT_JSON)
def test_body_that_is_not_json_is_415(client, body, content_type):
    response = client.post("/predict", data=body, content_type=content_type)
    assert "Content-Type: application/json" in _assert_json_error(response, 415)
