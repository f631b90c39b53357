"""A3, hidden (an example of what an instructor keeps private): the other errors, all JSON."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.assignment("A3")


@pytest.mark.points(1, exercises=["A3.2", "A2.1"])
def test_a_body_that_is_not_json_is_a_json_415(ask):
    """POST /predict with a form body answers 415 with a JSON error."""
    status, answer, _ = ask("/predict", "POST", b"user_id=1",
                            {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert status == 415 and answer and answer.get("error"), f"got {status}, {answer}"


@pytest.mark.points(1, exercises=["A3.2", "A2.1"])
def test_a_wrong_method_is_a_json_405_with_allow(ask):
    """DELETE /health answers 405, says which methods work (Allow), in JSON."""
    status, answer, headers = ask("/health", "DELETE")
    assert status == 405 and answer and answer.get("error"), f"got {status}, {answer}"
    assert "GET" in headers.get("Allow", ""), "a 405 must say which methods are allowed"
