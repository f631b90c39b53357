"""The grader on the real course: `assign` proves the solution scores full marks and the student
copy exactly the points no exercise touches; broken copies, each graded on the assignment it
breaks, lose exactly what they break; cheating gains nothing; an endless loop costs its tests.

Slow (it trains, serves and tracks real models for each copy) but run in CI like the rest.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from grading.assign import assign, build_copy
from grading.batch import grade_all
from grading.runner import Suite
from movierec.processes import wait_for
from tests.conftest import REPO_ROOT
from tests.grading.conftest import variant

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

TESTS = REPO_ROOT / "grading" / "tests"
FULL = {"A1": 10, "A2": 17, "A3": 10, "A4": 8}  # the manifest's points
UNTOUCHED = {"A1": 2, "A2": 1, "A3": 0, "A4": 1}  # points of the tests that need no exercise

RECOMMENDER, DATA, METRICS = "movierec/recommender.py", "movierec/data.py", "movierec/metrics.py"
DROPIN = "setup/sshd_config.d/10-course-hardening.conf"


def test_points_add_up_to_the_manifest():
    manifest = Suite.load(TESTS).manifest
    assert {a.id: a.points for a in manifest.assignments.values()} == FULL


@pytest.fixture(scope="module")
def assigned(tmp_path_factory) -> tuple[Path, str]:
    """The student copy of the real course, and what `assign` said: it writes only after its
    self-check (solution at full marks, the copy at the untouched points) has passed."""
    out = tmp_path_factory.mktemp("assigned") / "student"
    summary = assign(REPO_ROOT, Suite.load(TESTS), out, tmp_path_factory.mktemp("scratch"))
    return out, summary


def test_assign_checks_the_solution_and_the_student_copy(assigned):
    out, summary = assigned
    assert f"the solution scores {sum(FULL.values())}/{sum(FULL.values())}" in summary
    assert f"the student copy {sum(UNTOUCHED.values())} " in summary
    stub = (out / RECOMMENDER).read_text()
    assert 'raise NotImplementedError("exercise A2.1:' in stub and "argsort" not in stub
    assert "# EXERCISE A1.1:" in (out / DROPIN).read_text()
    assert "PasswordAuthentication no" not in (out / DROPIN).read_text()
    assert (out / "grading" / "tests" / "public").is_dir()
    assert not (out / "grading" / "tests" / "hidden").exists()
    assert not (out / "tests" / "grading").exists()  # the grader's proofs hold solutions


def edit(relative: str, *changes: tuple[str, str]) -> dict[str, str]:
    """Changes to one file of the solution: each (old, new), where `old` must be there."""
    text = (REPO_ROOT / relative).read_text()
    for old, new in changes:
        assert old in text, f"{relative} no longer holds {old!r}: update this test"
        text = text.replace(old, new)
    return {relative: text}


SORT_BY_TITLE = """top = top_k(scores, k)
        titles = [self._titles[item] for item in self.items.raw(top)]
        top = top[np.argsort(titles)]"""
SKIP_RATED = "        scores[self._rated.get(self.users.index(user_id), [])] = -np.inf\n"
TRAIN_WITHOUT_TEST = "return ratings[~is_test].reset_index(drop=True),"
NDCG_FIRST_LINE = "    hits = np.asarray(hits, dtype=float)\n"
PARSE_BY_HAND = [  # the old-course way: no check, so "abc" is a ValueError, a 500
    (
        "from flask import Blueprint, abort\n",
        "from flask import Blueprint, abort, request\n",
    ),
    ('user_id = inputs.query_int("user_id")', 'user_id = int(request.args.get("user_id"))'),
]


def broken_copies() -> dict[str, dict[str, dict[str, str]]]:
    """{assignment: {name: the changes to the solution}}: each breaks one thing a test checks."""
    no_handler = ("    app.register_error_handler(Exception, unexpected_error)\n", "")
    return {
        "A1": {
            "passwords": edit(DROPIN, ("PasswordAuthentication no", "PasswordAuthentication yes"))
        },
        "A2": {
            "sorted-by-title": edit(RECOMMENDER, ("top = top_k(scores, k)", SORT_BY_TITLE)),
            "returns-rated": edit(RECOMMENDER, (SKIP_RATED, "")),
            "trained-on-test": edit(
                DATA, (TRAIN_WITHOUT_TEST, "return ratings.reset_index(drop=True),")
            ),
            "endless-ndcg": edit(METRICS, (NDCG_FIRST_LINE, "    while True:\n        pass\n")),
        },
        "A3": {
            "html-500": {
                **edit("flask_app/api.py", *PARSE_BY_HAND),
                **edit("flask_app/errors.py", no_handler),
            }
        },
    }


ALWAYS_PASS = """import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"
    return report
"""
# A student copy that tries to pass without doing the work: settings, plugins, an edited test.
CHEATS = {
    "conftest.py": ALWAYS_PASS,
    "grading/tests/conftest.py": ALWAYS_PASS,
    "grading/tests/public/test_a2_train_and_persist.py": "def test_x():\n    pass\n",
    "sitecustomize.py": "import os\nos.environ['PYTEST_ADDOPTS'] = '-p no:grading'\n",
    "pytest.ini": "[pytest]\naddopts = -p no:grading.plugin\n",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assigned) -> dict[str, dict]:
    """Every broken copy, a cheating student copy and a looping copy, graded on the assignment
    each concerns: {name: its grades row, plus its results.json under "results"}."""
    tmp = tmp_path_factory.mktemp("variants")
    solution = tmp / "solution"
    build_copy(REPO_ROOT, Suite.load(TESTS), stub=False).write(solution)
    sources = {
        assignment: [variant(solution, tmp / name, changes) for name, changes in copies.items()]
        for assignment, copies in broken_copies().items()
    }
    sources["A2"].append(variant(assigned[0], tmp / "cheat", CHEATS))
    rows = {}
    for assignment, copies in sources.items():
        suite = Suite.load(TESTS, assignments=(assignment,))
        limits = replace(suite.manifest.limits, test=30)  # the endless loop's tests time out
        results = tmp / f"results-{assignment}"
        for name, row in grade_all(copies, results, suite, limits, REPO_ROOT, jobs=2):
            rows[name] = row | {
                "results": json.loads((results / name / "results.json").read_text())
            }
    return rows


@pytest.mark.parametrize(
    ("name", "assignment", "lost"),
    [
        ("passwords", "A1", 2),  # passwords refused
        ("sorted-by-title", "A2", 4),  # best first (2); notebook 02 checks the order too (2)
        ("returns-rated", "A2", 4),  # rated movies left out (2); notebook 02 checks it too (2)
        # the hold-out test (2), and notebook 02 (2): with its test ratings in training, no test
        # movie is left to rank, so its top-10 metrics fall to 0 and its checks fail
        ("trained-on-test", "A2", 4),
        ("html-500", "A3", 2),  # user_id=abc and a missing user_id: 500 instead of 400
    ],
)
def test_a_broken_copy_loses_exactly_what_it_breaks(graded, name, assignment, lost):
    row = graded[name]
    assert row["status"] == "ok"
    failed = [t["name"] for t in row["results"]["tests"] if t["score"] < t["max_score"]]
    assert row["assignments"] == {assignment: FULL[assignment] - lost}, f"{name} failed: {failed}"


def test_cheating_gains_nothing(graded):
    assert graded["cheat"]["assignments"] == {"A2": UNTOUCHED["A2"]}


def test_an_endless_loop_costs_its_tests_only_and_finishes(graded):
    row = graded["endless-ndcg"]
    assert row["status"] == "ok"
    assert row["assignments"] == {"A2": FULL["A2"] - 4}  # nDCG (2), notebook 02 measures it (2)
    timed_out = [t for t in row["results"]["tests"] if "time limit" in t.get("output", "")]
    assert timed_out, "the looping tests must say they ran out of time"
    # The notebook's kernel, stuck in the loop when its test ran out of time, was stopped too.
    wait_for(lambda: not kernels_of_a_grading(), 15, "the looping notebook kernel to be stopped")


def kernels_of_a_grading() -> list[str]:
    """Jupyter kernels still running in a folder of the grader's (they run in `grading-*`)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if b"ipykernel_launcher" in command and "/grading-" in cwd:
            found.append(cwd)
    return found
