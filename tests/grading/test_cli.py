"""The command line: helpful --help, one `error:` line and exit 1 when the grader cannot run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.grading.conftest import COURSE, GRADED, UNTOUCHED

pytestmark = pytest.mark.timeout(120)


def grading(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grading", *args], capture_output=True, text=True, cwd=cwd
    )


def test_help_names_every_command_with_examples():
    completed = grading("--help")
    assert completed.returncode == 0
    for words in ("assign", "grade", "check", "examples:", "grading/README.md"):
        assert words in completed.stdout


def test_a_missing_tests_folder_is_one_error_line(tmp_path):
    completed = grading("grade", str(tmp_path), "--out", str(tmp_path / "r"), "--tests", "nope")
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr == "error: no graded tests at nope (give --tests DIR)\n"


def test_a_usage_error_exits_2():
    assert grading("grade", "--jobs", "0").returncode == 2


def test_assign_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    completed = grading(
        "assign", "--course", str(COURSE), "--tests", str(GRADED), "--out", str(tmp_path)
    )
    assert completed.returncode == 1 and "was not written by `grading assign`" in completed.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me"


@pytest.mark.slow
def test_check_prints_a_students_points_so_far(student_copy):
    completed = grading("check", cwd=student_copy)
    assert completed.returncode == 0, completed.stderr
    public_untouched = UNTOUCHED  # every untouched test of the fixture course is public
    assert f"Total: {public_untouched}/10 points in the public tests" in completed.stdout
    assert "not done yet: exercise A1.1" in completed.stdout
