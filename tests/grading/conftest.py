"""Fixtures for the grader's own tests, which run it on a small fixture course.

fixtures/course is a tiny course with solution regions in a .py, a .sh, a .conf, a .md and a
notebook; fixtures/graded holds its graded tests (manifest, public/, hidden/). Those graded tests
are run *by the grader*, never collected by this suite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grading.assign import assign
from grading.runner import Suite

collect_ignore = ["fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"
COURSE = FIXTURES / "course"
GRADED = FIXTURES / "graded"
FULL_MARKS = 15  # the manifest's total
UNTOUCHED = 3  # the points of the tests that need no exercise


@pytest.fixture(scope="session")
def suite() -> Suite:
    return Suite.load(GRADED)


@pytest.fixture(scope="session")
def student_copy(tmp_path_factory: pytest.TempPathFactory, suite: Suite) -> Path:
    """The student copy `assign` writes for the fixture course (read-only: copy to change it)."""
    out = tmp_path_factory.mktemp("assigned") / "student"
    assign(COURSE, suite, out, tmp_path_factory.mktemp("assign-scratch"))
    return out


def variant(base: Path, dest: Path, changes: dict[str, str | None]) -> Path:
    """A copy of `base` at `dest` with some files replaced (text) or removed (None)."""
    shutil.copytree(base, dest, symlinks=True)
    for relative, text in changes.items():
        path = dest / relative
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return dest


def solved(source: str, exercise_code: str) -> str:
    """`source` with the stub line of an exercise replaced by `exercise_code` (indented alike)."""
    lines = source.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if "NotImplementedError(" in line or "# EXERCISE" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines[number] = "".join(indent + code + "\n" for code in exercise_code.splitlines())
            return "".join(lines)
    raise AssertionError("no stub found")
