"""A3, serve it: the submission's own Flask app, started with `flask run` on loopback and
serving the grading model, asked over HTTP. Every error must be JSON with a clear message."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.assignment("A3")


@pytest.mark.points(2, exercises=["A3.1", "A2.1"])
def test_recommend_answers_the_top_k_best_first(ask, grading_data):
    """GET /recommend?user_id=U&k=5 answers the five best unrated movies, best first."""
    for user, expected in grading_data.expected_top5().items():
        status, answer, _ = ask(f"/recommend?user_id={user}&k=5")
        assert status == 200, f"/recommend?user_id={user}&k=5 answered {status}"
        items = [movie["item_id"] for movie in answer["recommendations"]]
        assert items == expected, f"user {user}: {items}, expected {expected}"


@pytest.mark.points(2, exercises=["A3.1", "A2.1"])
def test_an_unknown_user_is_a_404_that_says_so(ask):
    """An unknown user gets 404 with a JSON error naming the user."""
    status, answer, _ = ask("/recommend?user_id=987654")
    assert status == 404, f"an unknown user got {status}, not 404"
    assert answer and "987654" in answer.get("error", ""), "the JSON error must name the user"


@pytest.mark.points(1, exercises=["A3.1", "A2.1"])
@pytest.mark.parametrize("query", ["user_id=abc", "user_id=1&k=0", "k=3"], ids=["text", "k0", "no"])
def test_bad_input_is_a_400_with_a_json_error(ask, query):
    """A user_id that is not a number, k of 0 or a missing user_id: 400, JSON, never a 500."""
    status, answer, _ = ask(f"/recommend?{query}")
    assert status == 400, f"/recommend?{query} answered {status}: bad input is the client's, a 400"
    assert answer and answer.get("error"), 'the error must be JSON: {"error": "..."}'


@pytest.mark.points(1, exercises=["A3.2", "A2.1"])
def test_an_unknown_url_is_a_json_404(ask):
    """A URL the API does not have answers 404 with a JSON error, not an HTML page."""
    status, answer, headers = ask("/no-such-page")
    assert status == 404
    assert answer and answer.get("error"), "Flask's HTML error page is no use to an API client"
    assert headers["Content-Type"].startswith("application/json")
