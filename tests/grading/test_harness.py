"""The harness child: snippets run with the submission first on sys.path, results come back as
JSON, and exceptions come back with the student's own frames only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grading.harness import describe, run_snippet

pytestmark = pytest.mark.timeout(60)


def test_a_snippet_sets_result_from_its_variables_and_numpy_values_travel_as_json(tmp_path):
    reply = run_snippet(
        {
            "code": "import numpy as np\nprint('noise')\nresult = np.arange(n) * 2",
            "variables": {"n": 3},
        },
        str(tmp_path),
    )
    assert reply == {"ok": True, "result": [0, 2, 4], "output": "noise\n"}


def test_an_exception_shows_the_student_frames_and_never_the_test_code(tmp_path):
    (tmp_path / "student.py").write_text("def f():\n    return 1 / 0\n")
    sys.path.insert(0, str(tmp_path))
    try:
        reply = run_snippet({"code": "import student\nresult = student.f()"}, str(tmp_path))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("student", None)
    error = reply["error"]
    assert (error["type"], error["message"]) == ("ZeroDivisionError", "division by zero")
    assert error["traceback"] == "  student.py, line 2, in f\n      return 1 / 0"


def test_a_result_json_cannot_carry_is_a_grader_error(tmp_path):
    reply = run_snippet({"code": "result = object()"}, str(tmp_path))
    assert reply["error"]["type"] == "GraderError"


def test_describe_keeps_only_frames_inside_the_submission(tmp_path):
    try:
        raise ValueError("bad k")
    except ValueError as error:
        assert describe(error, str(tmp_path)) == {
            "type": "ValueError",
            "message": "bad k",
            "traceback": "",
        }


def test_the_installed_course_yields_to_the_submission_on_sys_path(tmp_path):
    """The course is installed editable by a meta-path finder placed after PathFinder, so the
    submission first on sys.path wins: `movierec` is the submission's, not the grader's."""
    (tmp_path / "movierec").mkdir()
    (tmp_path / "movierec" / "__init__.py").write_text("WHO = 'student'\n")
    command = [sys.executable, "-I", "-m", "grading.harness", "run", str(tmp_path), "json.tool"]
    code = "import sys, movierec; print(movierec.__file__)"
    printed = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(printed) == tmp_path / "movierec" / "__init__.py"
    assert (
        subprocess.run(command, input="[1]", capture_output=True, text=True).stdout
        == "[\n    1\n]\n"
    )
