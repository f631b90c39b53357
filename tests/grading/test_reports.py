"""Reports: results.json in Gradescope's shape, feedback that never shows hidden tests, the CSV."""

from __future__ import annotations

import csv

import pytest

from grading.manifest import load_manifest
from grading.reports import feedback_markdown, results_json, summary, write_grades_csv
from grading.runner import GradedTest, Run
from tests.grading.conftest import GRADED

pytestmark = pytest.mark.timeout(30)
MANIFEST = load_manifest(GRADED)


def result(name, assignment, points, outcome, visibility="visible", message=""):
    return GradedTest(
        f"public/test_x.py::{name}",
        name,
        assignment,
        points,
        visibility,
        [],
        False,
        outcome,
        message,
    )


RUN = Run(
    "ok",
    [
        result("sorts", "A1", 2, "passed"),
        result("loops", "A1", 7, "timeout", message="did not finish within its time limit"),
        result("secret", "A2", 6, "failed", "after_published", "expected 42 from the hidden data"),
    ],
    seconds=3.21,
)


def test_results_json_has_gradescopes_shape():
    data = results_json(RUN)
    assert {"score", "execution_time", "output", "tests"} <= set(data)
    assert (data["score"], data["execution_time"]) == (2, 3.2)
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert isinstance(test["score"], int | float) and isinstance(test["name"], str)
    assert [t["status"] for t in data["tests"]] == ["passed", "failed", "failed"]


def test_feedback_explains_failures_and_keeps_hidden_tests_pending():
    feedback = feedback_markdown("alice", RUN, MANIFEST)
    assert "## A1 Rank movies: 2 / 9" in feedback
    assert "- ✅ sorts (2/2)" in feedback and "  > did not finish within its time limit" in feedback
    assert "1 hidden test worth 6 points" in feedback
    assert "secret" not in feedback and "42" not in feedback


def test_grades_csv_starts_with_submission_score_max_score(tmp_path):
    write_grades_csv(tmp_path / "grades.csv", [("alice", summary(RUN, MANIFEST))], MANIFEST)
    with open(tmp_path / "grades.csv", newline="") as file:
        assert list(csv.reader(file)) == [
            ["submission", "score", "max_score", "A1", "A2", "status"],
            ["alice", "2", "15", "2", "0", "ok"],
        ]
