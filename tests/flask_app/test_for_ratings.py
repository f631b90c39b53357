"""POST /recommend/for-ratings through the test client: a newcomer's ratings as JSON, as a file
or at a URL, and every refusal, each with a message that says what to change."""

from __future__ import annotations

import io
import json

import pytest

from flask_app.for_ratings import MAX_BODY, MAX_RATINGS
from tests.file_server import file_server


@pytest.fixture(scope="module")
def model(app):
    return app.extensions["model"].served.recommender


@pytest.fixture(scope="module")
def loved(model) -> dict[int, float]:
    """Five movies the model knows, rated 5, 4, 3, 2, 1."""
    return {int(item): float(5 - n) for n, item in enumerate(model.items.raw_ids[:5])}


def as_json(ratings: dict[int, float]) -> dict:
    return {"ratings": [{"item_id": item, "rating": value} for item, value in ratings.items()]}


def as_csv(ratings: dict[int, float], user: int = 9999) -> bytes:
    lines = [f"{user},{item},{value},0" for item, value in ratings.items()]
    return ("userId,movieId,rating,timestamp\n" + "\n".join(lines) + "\n").encode()


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()["error"]


# --- three ways to send the same ratings, one answer ----------------------------------------------


def test_json_ratings_get_the_folded_in_models_top_k(client, model, loved):
    response = client.post("/recommend/for-ratings?k=7", json=as_json(loved))
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["recommendations"] == [r._asdict() for r in model.recommend_for_ratings(loved, 7)]
    assert answer["ignored_item_ids"] == []
    assert not {r["item_id"] for r in answer["recommendations"]} & set(loved)
    assert response.headers["X-Model-Version"] == model.version


def test_an_uploaded_csv_file_gets_the_same_answer(client, loved):
    expected = client.post("/recommend/for-ratings", json=as_json(loved)).get_json()
    response = client.post("/recommend/for-ratings", content_type="multipart/form-data",
                           data={"ratings": (io.BytesIO(as_csv(loved)), "mine.csv")})  # fmt: skip
    assert response.status_code == 200 and response.get_json() == expected


def test_a_file_at_a_url_gets_the_same_answer(app, client, loved):
    expected = client.post("/recommend/for-ratings", json=as_json(loved)).get_json()
    with file_server({"/mine.csv": as_csv(loved)}) as server, _fetch_allowed(app, server.port):
        url = f"http://files.test:{server.port}/mine.csv"
        response = client.post("/recommend/for-ratings", json={"url": url})
    assert response.status_code == 200 and response.get_json() == expected


def test_movies_the_model_never_saw_are_named_and_left_out(client, model, loved):
    unknown = int(model.items.raw_ids.max()) + 1000
    answer = client.post("/recommend/for-ratings", json=as_json(loved | {unknown: 5.0})).get_json()
    assert answer["ignored_item_ids"] == [unknown]
    assert answer == client.post("/recommend/for-ratings", json=as_json(loved)).get_json() | {
        "ignored_item_ids": [unknown]
    }


# --- refused, with the reason ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'send JSON {"ratings": [{"item_id": 50, "rating": 5}, ...]}'),
        ({"ratings": [], "url": "x"}, 'send JSON {"ratings"'),
        ({"ratings": []}, "ratings must be a list of 1 to 5,000 objects"),
        ({"ratings": {"1": 5}}, "ratings must be a list"),
        ({"ratings": [[1, 5]]}, 'ratings[0] must be {"item_id": <id>, "rating": <number>}'),
        ({"ratings": [{"item_id": 1}]}, "ratings[0] must be"),
        ({"ratings": [{"item_id": 1, "rating": 5, "x": 1}]}, "ratings[0] must be"),
        ({"ratings": [{"item_id": "1", "rating": 5}]}, "ratings[0].item_id must be a movie id"),
        ({"ratings": [{"item_id": 0, "rating": 5}]}, "ratings[0].item_id must be a movie id"),
        ({"ratings": [{"item_id": True, "rating": 5}]}, "ratings[0].item_id must be a movie id"),
        ({"ratings": [{"item_id": 1, "rating": "5"}]}, "ratings[0].rating must be a number"),
        ({"ratings": [{"item_id": 1, "rating": None}]}, "ratings[0].rating must be a number"),
        ({"ratings": [{"item_id": 1, "rating": 9}]}, "must be between 1 and 5 (the model's scale)"),
        ({"ratings": [{"item_id": 1, "rating": 4}, {"item_id": 1, "rating": 5}]},
         "movie 1 is rated more than once"),
        ({"url": 5}, "url must be a string"),
        ({"url": "file:///etc/passwd"}, "url refused: only http:// and https:// URLs"),
        ({"url": "http://127.0.0.1:5000/health"}, "url refused: 127.0.0.1 is a loopback address"),
        ({"url": "http://169.254.169.254/latest/"}, "is a link-local address"),
    ],
)  # fmt: skip
def test_bad_json_is_400_with_the_reason(client, body, message):
    assert message in error_of(client.post("/recommend/for-ratings", json=body), 400)


def test_nan_is_no_rating(client):
    body = b'{"ratings": [{"item_id": 1, "rating": NaN}]}'
    response = client.post("/recommend/for-ratings", data=body, content_type="application/json")
    assert "ratings[0].rating must be a number" in error_of(response, 400)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"title,year\nAlien,1979\n", "ids and ratings must be numbers"),
        (b"userId,movieId\n1,2\n", "every line needs a rating"),
        (b"userId,movieId,rating\n1,2,5\n2,3,4\n", "holds the ratings of 2 users"),
        (b"userId,movieId,rating\n1,2,5\n1,2,4\n", "rates movie 2 more than once"),
        (b"userId,movieId,rating\n1,2,7\n", "must be between 1 and 5"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "the uploaded file"),
    ],
)
def test_a_bad_file_is_400_with_the_reason(client, content, message):
    response = client.post("/recommend/for-ratings", content_type="multipart/form-data",
                           data={"ratings": (io.BytesIO(content), "mine.csv")})  # fmt: skip
    assert message in error_of(response, 400)


def test_a_form_without_the_file_field_says_its_name(client):
    response = client.post("/recommend/for-ratings", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"x"), "mine.csv")})  # fmt: skip
    assert "send the file as the form field ratings" in error_of(response, 400)


def test_other_content_types_are_415_naming_the_accepted_ones(client):
    response = client.post("/recommend/for-ratings", data="item 1: 5 stars")
    assert "or a CSV file as the form field ratings" in error_of(response, 415)


def test_ratings_of_unknown_movies_only_are_422(client, model):
    unknown = int(model.items.raw_ids.max()) + 1000
    response = client.post("/recommend/for-ratings", json=as_json({unknown: 5.0}))
    assert "none of the rated movies is known to the model" in error_of(response, 422)


def test_a_model_class_that_cannot_fold_in_is_422(client, model, loved, monkeypatch):
    monkeypatch.setattr(type(model.model), "fold_in", None)
    response = client.post("/recommend/for-ratings", json=as_json(loved))
    assert "cannot take in the ratings of a user it was not trained on" in error_of(response, 422)


@pytest.mark.parametrize("k", ["0", "101", "ten"])
def test_k_is_checked_as_for_recommend(client, loved, k):
    response = client.post(f"/recommend/for-ratings?k={k}", json=as_json(loved))
    assert "k must be" in error_of(response, 400)


# --- limits ---------------------------------------------------------------------------------------


def test_this_endpoint_has_its_own_body_limit(client):
    """Above the API's 64 KiB (a file fits), below its own MAX_BODY; the 413 names it."""
    body = json.dumps({"ratings": [{"item_id": 1 + n, "rating": 3} for n in range(MAX_RATINGS)]})
    assert len(body) > 64 * 1024
    fits = client.post("/recommend/for-ratings", data=body, content_type="application/json")
    assert fits.status_code == 200
    too_big = b'{"ratings": [' + b" " * MAX_BODY + b"]}"
    response = client.post("/recommend/for-ratings", data=too_big, content_type="application/json")
    assert f"the limit is {MAX_BODY:,} bytes" in error_of(response, 413)
    # ...and the other endpoints keep the app's limit.
    response = client.post("/predict", data=b" " * 70_000, content_type="application/json")
    assert "the limit is 65,536 bytes" in error_of(response, 413)


def test_more_ratings_than_allowed_are_refused(client):
    ratings = [{"item_id": 1 + n, "rating": 3} for n in range(MAX_RATINGS + 1)]
    response = client.post("/recommend/for-ratings", json={"ratings": ratings})
    assert f"ratings must be a list of 1 to {MAX_RATINGS:,} objects" in error_of(response, 400)


def test_a_file_at_a_url_larger_than_the_limit_is_refused(app, client):
    with file_server() as server, _fetch_allowed(app, server.port):
        url = f"http://files.test:{server.port}/endless"
        response = client.post("/recommend/for-ratings", json={"url": url})
    assert f"larger than the limit of {MAX_BODY:,} bytes" in error_of(response, 400)


def test_a_redirect_to_a_private_address_is_refused(app, client):
    redirects = {"/mine.csv": "http://10.0.0.7/mine.csv"}
    with file_server(redirects=redirects) as server, _fetch_allowed(app, server.port):
        url = f"http://files.test:{server.port}/mine.csv"
        response = client.post("/recommend/for-ratings", json={"url": url})
    assert "10.0.0.7 is a private address: not fetched" in error_of(response, 400)


class _fetch_allowed:
    """The app's URL rules for tests, for a `with` block: `files.test` is the loopback file
    server on `port`, no other name resolves, and no public address is reachable."""

    def __init__(self, app, port: int):
        self.app, self.port = app, port

    def __enter__(self):
        self.app.config["URL_FETCH"] = {"hosts": {"files.test": "127.0.0.1"}, "internet": False,
                                        "allow": [f"127.0.0.1:{self.port}"]}  # fmt: skip

    def __exit__(self, *exc_info):
        self.app.config.pop("URL_FETCH")
