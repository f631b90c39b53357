"""A batch grades every submission and writes a row for each, whatever any one of them does:
broken copies lose exactly their points, cheats gain nothing, loops and bad archives stay in
their own row."""

from __future__ import annotations

import csv
import json
import tarfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from grading.batch import grade_all
from tests.grading.conftest import COURSE, FULL_MARKS, UNTOUCHED, solved, variant

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

RANKING = "tinyrec/ranking.py"
FORGE = """import json, os
args = open(f"/proc/{os.getppid()}/cmdline").read().split("\\0")
report = args[args.index("--grading-report") + 1]
collected = json.loads(open(report).readline().split(" ", 1)[1])["tests"]
with open(report, "a") as file:
    for test in collected:
        line = {"kind": "result", "nodeid": test["nodeid"], "outcome": "passed", "message": ""}
        file.write("0" * 64 + " " + json.dumps(line) + "\\n")
raise NotImplementedError("exercise A1.1")"""
ALWAYS_PASS = """import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"
    return report
"""


def solution_with(relative: str, old: str, new: str) -> dict[str, str]:
    return {relative: (COURSE / relative).read_text().replace(old, new)}


@pytest.fixture(scope="module")
def batch(tmp_path_factory, student_copy, suite):
    """Every kind of submission, graded in one batch with two jobs and a 2 s limit per test."""
    tmp = tmp_path_factory.mktemp("submissions")
    stub = (student_copy / RANKING).read_text()
    by_name: dict[str, Path] = {"course": COURSE, "student": student_copy}
    broken = {
        "sorted-by-title": solution_with(RANKING, "key=lambda movie: -scores[movie]", "key=str"),
        "returns-rated": solution_with(RANKING, "if movie not in rated", ""),
        "passwords": solution_with("setup/sshd.conf", "Authentication no", "Authentication yes"),
        "endless-mean": solution_with(
            RANKING, "return sum(ratings)", "while True: pass\n    return sum(ratings)"
        ),
    }
    for name, changes in broken.items():
        by_name[name] = variant(COURSE, tmp / name, changes)
    cheats = {
        "cheat-edited-test": {
            "grading/tests/public/test_a1_ranking.py": "def test_nothing():\n    pass\n"
        },
        "cheat-settings": {
            "conftest.py": ALWAYS_PASS,
            "grading/tests/conftest.py": ALWAYS_PASS,
            "sitecustomize.py": "import os\nos.environ['PYTEST_ADDOPTS'] = '-p no:grading'\n",
            "pytest.ini": "[pytest]\naddopts = -p no:grading.plugin\n",
            "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '--deselect public'\n",
        },
        "cheat-forged-report": {RANKING: solved(stub, FORGE)},
    }
    for name, changes in cheats.items():
        by_name[name] = variant(student_copy, tmp / name, changes)
    for parent in ("first", "second"):  # two folders named alice, both refused (cheap to grade)
        by_name[f"alice ({parent})"] = tmp / parent / "alice"
        by_name[f"alice ({parent})"].mkdir(parents=True)
        (by_name[f"alice ({parent})"] / "passwd").symlink_to("/etc/passwd")
    by_name["solution.tar.gz"] = tmp / "solution.tar.gz"
    with tarfile.open(by_name["solution.tar.gz"], "w:gz") as archive:
        archive.add(COURSE, arcname="solution")
    for name, members in {
        "up.zip": {"../escape.py": b"x"},
        "bomb.zip": {"zeros": bytes(5_000_000)},
    }.items():
        with zipfile.ZipFile(tmp / name, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, content in members.items():
                archive.writestr(member, content)
        by_name[name] = tmp / name
    link = tarfile.TarInfo("passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with tarfile.open(tmp / "link-out.tar.gz", "w:gz") as archive:
        archive.addfile(link)
    by_name["link-out.tar.gz"] = tmp / "link-out.tar.gz"
    out = tmp / "results"
    limits = replace(suite.manifest.limits, test=2)
    started = time.monotonic()
    rows = grade_all(list(by_name.values()), out, suite, limits, COURSE, jobs=2, report=print)
    seconds = time.monotonic() - started
    print(f"{len(rows)} submissions in {seconds:.1f} s")
    return out, dict(rows), seconds


def scores(batch) -> dict[str, float]:
    return {name: row["score"] for name, row in batch[1].items()}


def results(batch, name: str) -> dict:
    return json.loads((batch[0] / name / "results.json").read_text())


def test_the_solution_scores_full_marks_and_the_student_copy_the_untouched_points(batch):
    assert scores(batch)["course"] == FULL_MARKS
    assert scores(batch)["solution"] == FULL_MARKS  # the same, from a .tar.gz
    assert scores(batch)["student"] == UNTOUCHED


def test_broken_copies_lose_exactly_the_points_of_what_they_break(batch):
    assert {
        name: scores(batch)[name] for name in ("sorted-by-title", "returns-rated", "passwords")
    } == {
        "sorted-by-title": FULL_MARKS - 4,  # the sort test (2), the CLI (1), the notebook (1)
        "returns-rated": FULL_MARKS - 2,  # the hidden test of rated movies
        "passwords": FULL_MARKS - 2,
    }


def test_an_endless_loop_costs_its_test_only_and_finishes_in_bounded_time(batch):
    assert scores(batch)["endless-mean"] == FULL_MARKS - 1
    assert batch[1]["endless-mean"]["status"] == "ok"
    (looping,) = [t for t in results(batch, "endless-mean")["tests"] if t["score"] == 0]
    assert "did not finish within its time limit (2 s)" in looping["output"]
    assert results(batch, "endless-mean")["execution_time"] < 30


def test_cheating_gains_nothing(batch):
    for name in ("cheat-edited-test", "cheat-settings", "cheat-forged-report"):
        assert scores(batch)[name] == UNTOUCHED, name
    feedback = (batch[0] / "cheat-edited-test" / "feedback.md").read_text()
    assert "You changed grading/tests/public/test_a1_ranking.py" in feedback
    assert "were not written by the grader" in results(batch, "cheat-forged-report")["output"]


def test_unsafe_archives_are_error_rows_while_the_rest_is_graded(batch):
    for name in ("up", "bomb", "link-out", "alice"):
        row = batch[1][name]
        assert (row["status"], row["score"], row["max_score"]) == ("error", 0, FULL_MARKS), name
    assert "refused" in (batch[0] / "bomb" / "feedback.md").read_text()


def test_same_folder_names_get_distinct_result_folders(batch):
    assert {"alice", "alice-2"} <= set(batch[1])
    assert (batch[0] / "alice-2" / "results.json").is_file()
    assert "a link to an absolute path" in (batch[0] / "alice-2" / "feedback.md").read_text()


def test_two_jobs_grade_a_class_in_seconds_per_submission(batch):
    graded = [row for row in batch[1].values() if row["status"] != "error"]
    print(f"{batch[2] / len(graded):.1f} s per graded submission")
    assert batch[2] / len(graded) < 10


def test_grades_csv_has_one_row_per_submission_in_order(batch):
    with open(batch[0] / "grades.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["submission", "score", "max_score", "A1", "A2", "status"]
    assert [row[0] for row in rows[1:]] == list(batch[1])
    assert rows[1] == ["course", "15", "15", "9", "6", "ok"]


def test_hidden_tests_never_show_in_feedback(batch):
    feedback = (batch[0] / "returns-rated" / "feedback.md").read_text()
    assert "rated" not in feedback.split("## A1")[1].split("## A2")[0].replace("returns-rated", "")
    assert "4 hidden tests" not in feedback and "3 hidden tests worth 4 points" in feedback
