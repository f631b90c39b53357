"""`assign` writes a checked student copy: stubs, no solutions, no hidden tests, no outputs."""

from __future__ import annotations

import json
import shutil

import pytest

from grading.assign import AssignError, assign, build_copy, course_files
from grading.runner import Suite
from tests.grading.conftest import COURSE, GRADED

pytestmark = pytest.mark.timeout(120)


def test_the_student_copy_has_stubs_and_never_a_solution_or_a_hidden_test(student_copy):
    files = {p.relative_to(student_copy).as_posix() for p in student_copy.rglob("*") if p.is_file()}
    assert "private/answers.txt" not in files  # the manifest's `exclude`
    assert not any("hidden" in f for f in files)
    assert {"grading/tests/manifest.toml", "grading/tests/public/test_a1_ranking.py"} <= files
    assert {"grading/plugin.py", "grading/pytest.ini", "tinyrec/ranking.py"} <= files
    everything = "".join(
        (student_copy / f).read_text() for f in files if not f.startswith("grading/")
    )
    for solution in (
        "sorted(candidates",
        "ufw limit OpenSSH",
        "PasswordAuthentication no",
        "brute",
    ):
        assert solution not in everything
    notebook = json.loads((student_copy / "notebooks/explore.ipynb").read_text())
    assert all(not cell.get("outputs") for cell in notebook["cells"])
    assert (student_copy / "setup/firewall.sh").stat().st_mode & 0o111  # still executable


def test_course_files_are_what_git_tracks(tmp_path):
    course = shutil.copytree(COURSE, tmp_path / "course")
    (course / "untracked.py").write_text("x = 1\n")
    assert "untracked.py" in course_files(course)  # not a git repository: every file
    assert "untracked.py" not in course_files(COURSE) and "tinyrec/ranking.py" in course_files(
        COURSE
    )


def test_unknown_exercises_stop_assign_before_it_grades(tmp_path):
    tests = shutil.copytree(GRADED, tmp_path / "tests")
    path = tests / "public" / "test_a2_server.py"
    path.write_text(path.read_text().replace('exercises=["A2.2"]', 'exercises=["A9.9"]'))
    with pytest.raises(AssignError, match="needs exercise A9.9, which no solution region defines"):
        assign(COURSE, Suite.load(tests), tmp_path / "out", tmp_path / "scratch")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_test_that_does_not_test_its_exercise_fails_the_self_check(tmp_path):
    tests = shutil.copytree(GRADED, tmp_path / "tests")
    path = tests / "public" / "test_a2_server.py"
    path.write_text(
        path.read_text().replace(
            "@pytest.mark.points(1)", '@pytest.mark.points(1, exercises=["A2.1"])'
        )
    )
    with pytest.raises(
        AssignError, match="passes on the student copy although it needs exercise A2.1"
    ):
        assign(COURSE, Suite.load(tests), tmp_path / "out", tmp_path / "scratch")
    assert not (tmp_path / "out").exists()


def test_assign_writes_again_over_its_own_copy(student_copy, tmp_path, suite):
    copy = build_copy(COURSE, suite)
    out = shutil.copytree(student_copy, tmp_path / "again")
    (out / "tinyrec" / "ranking.py").write_text("edited by hand")
    copy.write(out)  # what assign does once its checks pass
    assert (out / "tinyrec" / "ranking.py").read_text() == (
        student_copy / "tinyrec/ranking.py"
    ).read_text()
